namespace RoutingData;

/// <summary>
/// A read was shed: no replica could take it (every replica down or past the lag bound), and the reads already falling
/// back to the primary hold <see cref="ReplicatedDbOptions.MaxFallbackReadConnections"/> of its connections, which are
/// kept for writes. Nothing was sent. Try again later (an HTTP API would answer 503 with Retry-After), or read with
/// <see cref="ReadPreference.Primary"/> if this read must not be shed.
/// </summary>
public sealed class ReadsShedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">How many fallback connections the primary holds and why no replica could take the read.</param>
    public ReadsShedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ReadsShedException()
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="message">How many fallback connections the primary holds and why no replica could take the read.</param>
    /// <param name="innerException">The cause.</param>
    public ReadsShedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
