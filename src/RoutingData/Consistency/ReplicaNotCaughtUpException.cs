namespace RoutingData;

/// <summary>
/// A read with <see cref="StaleReadPolicy.Throw"/> found no replica that has replayed the session's last write
/// (or what the session already read). Nothing was executed.
/// </summary>
public sealed class ReplicaNotCaughtUpException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The session's token and each replica's position.</param>
    public ReplicaNotCaughtUpException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ReplicaNotCaughtUpException()
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="message">The session's token and each replica's position.</param>
    /// <param name="innerException">The cause.</param>
    public ReplicaNotCaughtUpException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
