namespace RoutingData.Consistency;

/// <summary>
/// Internal signal: the freshness check that rode along with a read showed the replica behind the session's
/// position. The read's results are discarded and the connection applies its stale-read policy.
/// </summary>
internal sealed class StaleReplicaException : Exception
{
    public StaleReplicaException(ulong replayed)
        : base("The replica has not replayed the session's position.") => Replayed = replayed;

    public StaleReplicaException()
    {
    }

    public StaleReplicaException(string message)
        : base(message)
    {
    }

    public StaleReplicaException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ulong Replayed { get; }
}
