using RoutingData.Topology;

namespace RoutingData.Consistency;

/// <summary>Where a captured WAL position goes: the session's token and, for a replica, the host's known position.</summary>
internal readonly struct CaptureTarget(ConsistencySession? session, ulong systemIdentifier, HostRuntime? host, HostRole role, ulong requiredReplayLsn = 0)
{
    /// <summary>When not 0: a freshness check leads the batch, and the read only counts if the replica has replayed this far.</summary>
    public ulong RequiredReplayLsn => requiredReplayLsn;

    /// <summary>Whether a capture statement is appended at all (no session, or inside a transaction: no).</summary>
    public bool IsActive => session is not null;

    public string Sql => role == HostRole.Primary ? LsnCapture.PrimarySql : LsnCapture.ReplicaSql;

    public HostRole Role => role;

    /// <summary>Reads the leading freshness check; throws <see cref="StaleReplicaException"/> if the replica is behind.</summary>
    public void Check(ulong replayed)
    {
        host?.AdvanceKnownLsn(replayed);
        if (replayed < requiredReplayLsn)
        {
            throw new StaleReplicaException(replayed);
        }
    }

    public void Apply(ulong lsn)
    {
        session?.Advance(systemIdentifier, lsn);
        host?.AdvanceKnownLsn(lsn);
    }
}
