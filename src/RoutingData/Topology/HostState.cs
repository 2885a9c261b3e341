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

    /// <summary>
    /// The standby's own word on its delay (now − last replayed commit's time, when replay is behind what it received or
    /// no WAL receiver runs); null on a primary. Used only while no primary position is known to measure lag against.
    /// </summary>
    public TimeSpan? ReplayDelay { get; init; }

    /// <summary>When (a <see cref="TimeProvider"/> timestamp) the probe query was sent: the position read is at least the host's then.</summary>
    public long ProbeSentAt { get; init; }

    /// <summary>When (a <see cref="TimeProvider"/> timestamp) the probe's answer arrived.</summary>
    public long ProbeAnsweredAt { get; init; }

    /// <summary>The session default of <c>standard_conforming_strings</c> (true unless the server, database or role turned it off).</summary>
    public bool StandardConformingStrings { get; init; } = true;

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
