using NpgsqlTypes;

namespace RoutingData.Topology;

/// <summary>One probe's view of a host. Immutable: the monitor makes a new one per probe.</summary>
internal sealed record HostState
{
    public required HostRuntime Host { get; init; }

    public HostHealth Health { get; init; }

    public bool IsInRecovery { get; init; }

    public long? SystemIdentifier { get; init; }

    public int Timeline { get; init; }

    /// <summary>Current WAL position on a primary; replay position on a standby.</summary>
    public NpgsqlLogSequenceNumber Lsn { get; init; }

    /// <summary>How long ago the standby replayed its last transaction, when it is behind; null on a primary.</summary>
    public TimeSpan? ReplayDelay { get; init; }

    public string? ServerVersion { get; init; }

    public int WalBlockSize { get; init; }

    public long WalSegmentSize { get; init; }

    /// <summary>When the server last started (seconds since the epoch; 0 unknown): a restart resets what is known of its position.</summary>
    public double ServerStartedAt { get; init; }

    /// <summary>Round-trip time of the last probe query (smoothed).</summary>
    public TimeSpan RoundTripTime { get; init; }

    public DateTimeOffset ProbedAt { get; init; }

    public int ConsecutiveFailures { get; init; }

    public DateTimeOffset NextProbeAt { get; init; }

    /// <summary>Why the last probe failed (no credentials: Npgsql messages name host and error only).</summary>
    public string? LastError { get; init; }

    public bool IsHealthy => Health == HostHealth.Healthy;
}
