using System.Data.Common;

namespace RoutingData;

/// <summary>
/// The transaction cannot go on where it began — its primary was fenced or demoted, another host is the primary now —
/// so RoutingData rolled it back there without sending the statement (or the COMMIT) that was asked for. Nothing of
/// it was committed: run the whole transaction again (<see cref="IsTransient"/> is true).
/// </summary>
public sealed class TransactionRolledBackException : DbException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which host the transaction was on and why it cannot go on there.</param>
    public TransactionRolledBackException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public TransactionRolledBackException()
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="message">Which host the transaction was on and why it cannot go on there.</param>
    /// <param name="innerException">The cause.</param>
    public TransactionRolledBackException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets a value indicating that running the whole transaction again is safe: nothing of it was committed.</summary>
    public override bool IsTransient => true;
}
