namespace RoutingData;

/// <summary>What the topology monitor last saw of one host; from <see cref="ReplicatedDataSource.GetHosts"/>.</summary>
/// <param name="Host">The host, as <c>host:port</c>.</param>
/// <param name="Health">Whether the last probe answered.</param>
/// <param name="Role">The host's role, or null if it has not answered yet.</param>
/// <param name="Timeline">The host's timeline.</param>
/// <param name="LagBytes">WAL bytes a replica is behind the primary (0 for the primary).</param>
/// <param name="ReplayDelay">How far behind the primary a replica is in time: the time since the primary passed the position the replica has replayed. When the replica is behind every primary position this data source has sampled (it started recently, or the replica restarted far behind), the time those samples cover: a lower bound, and the replica takes no reads under a time bound. Null when it cannot be told at all.</param>
/// <param name="RoundTripTime">The smoothed round-trip time of the probe query.</param>
/// <param name="TakesReads">Whether reads may be routed to this host now (a healthy replica within the lag bound).</param>
/// <param name="LastError">Why the last probe failed, if it did.</param>
public sealed record HostStatus(
    string Host,
    HostHealth Health,
    HostRole? Role,
    int Timeline,
    long LagBytes,
    TimeSpan? ReplayDelay,
    TimeSpan RoundTripTime,
    bool TakesReads,
    string? LastError)
{
    /// <summary>
    /// Gets what the topology sources last said of this host (e.g. <c>Patroni: leader, running, timeline 2</c>); null
    /// without sources. A hint only: <see cref="Role"/> is what the probe found.
    /// </summary>
    public string? SourceReport { get; init; }

    /// <summary>
    /// Gets how many of this host's connections are held by reads that fell back to it as primary because no replica
    /// could take them; at most <see cref="ReplicatedDbOptions.MaxFallbackReadConnections"/>, past which reads are shed.
    /// </summary>
    public int FallbackReadConnections { get; init; }

    /// <summary>
    /// Gets how many commands this data source has routed to this host since it was built: each attempt counts (a
    /// read retried elsewhere counts on both hosts), batches count once, and RoutingData's own probes and position
    /// captures do not count. The difference between two readings is the host's share of this process's traffic.
    /// </summary>
    public long CommandsRouted { get; init; }
}
