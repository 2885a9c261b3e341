using System.Data.Common;

namespace RoutingData;

/// <summary>
/// A statement sent to a replica as a read turned out to write (the standby refused it with SQLSTATE 25006, so
/// nothing was written) after some of its rows had already been handed to the caller — a view over a VOLATILE function,
/// say — so it could not be re-run on the primary transparently. RoutingData remembers the text: run it again and it
/// goes to the primary.
/// </summary>
public sealed class ReplicaRefusedWriteException : DbException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The replica and what the classifier saw.</param>
    public ReplicaRefusedWriteException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ReplicaRefusedWriteException()
    {
    }

    /// <summary>Creates the exception with the standby's error.</summary>
    /// <param name="message">The replica and what the classifier saw.</param>
    /// <param name="innerException">The standby's <c>25006</c> error.</param>
    public ReplicaRefusedWriteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets a value indicating that running the statement again is safe: nothing of it was written.</summary>
    public override bool IsTransient => true;
}
