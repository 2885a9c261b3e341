using System.Data.Common;

namespace RoutingData;

/// <summary>
/// The connection to the primary was lost after a write (or a COMMIT) was sent: it may or may not have taken effect.
/// RoutingData does not send it again (<see cref="IsTransient"/> is false); check whether it happened before retrying.
/// The consistency session waits for the primary's position after the failure, so a later read sees it if it committed.
/// </summary>
public sealed class CommandOutcomeUnknownException : DbException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The host and what was lost.</param>
    public CommandOutcomeUnknownException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public CommandOutcomeUnknownException()
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="message">The host and what was lost.</param>
    /// <param name="innerException">The connection error.</param>
    public CommandOutcomeUnknownException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets a value indicating that running the command again is not known to be safe: it may have taken effect.</summary>
    public override bool IsTransient => false;
}
