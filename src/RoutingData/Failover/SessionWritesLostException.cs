using System.Data.Common;
using NpgsqlTypes;

namespace RoutingData;

/// <summary>
/// A failover lost writes of this consistency session: the standby promoted to primary had not received everything the
/// old primary acknowledged (asynchronous replication), and the session's token lies past the point where the new
/// primary's timeline forked off the old one. What the session wrote after <see cref="ForkPoint"/> is not in the
/// database any more; nothing was sent again. Thrown once, to the session's next command (with
/// <see cref="LostWritesPolicy.Throw"/>); the session then continues on <see cref="NewTimeline"/>, and
/// <see cref="ConsistencySession.LostWrites"/> keeps this report.
/// </summary>
/// <remarks>
/// The command that got this exception was not sent: run it again once the lost writes are dealt with (redone, or the
/// user told). The positions compared are the ones the session captured after its writes, which can lie a little past
/// a write's commit record: a write that reached the standby only just before the failover may be reported lost, never
/// the other way round.
/// </remarks>
public sealed class SessionWritesLostException : DbException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was lost and what to do.</param>
    /// <param name="token">The session's token before the failover (old timeline).</param>
    /// <param name="forkPoint">Where the new primary's history left the token's timeline.</param>
    /// <param name="newTimeline">The timeline of the new primary.</param>
    public SessionWritesLostException(string message, ConsistencyToken token, NpgsqlLogSequenceNumber forkPoint, int newTimeline)
        : base(message)
    {
        Token = token;
        ForkPoint = forkPoint;
        NewTimeline = newTimeline;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was lost and what to do.</param>
    public SessionWritesLostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public SessionWritesLostException()
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="message">What was lost and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public SessionWritesLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets the session's token before the failover: its timeline is the old one, its LSN past <see cref="ForkPoint"/>.</summary>
    public ConsistencyToken Token { get; }

    /// <summary>Gets the LSN where the new primary's timeline forked off the token's timeline: writes up to it survived.</summary>
    public NpgsqlLogSequenceNumber ForkPoint { get; }

    /// <summary>Gets the timeline of the new primary, which the session continues on.</summary>
    public int NewTimeline { get; }

    /// <summary>Gets a value indicating that running the command again does not bring the lost writes back.</summary>
    public override bool IsTransient => false;
}
