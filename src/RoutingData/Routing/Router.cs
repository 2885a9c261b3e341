using RoutingData.Topology;

namespace RoutingData.Routing;

/// <summary>
/// Turns a classified statement, a read preference and the current snapshot into a host. Transactions and
/// session pinning are the connection's business; this decides everything else. Reads the snapshot only;
/// takes no lock and allocates nothing unless it throws.
/// </summary>
internal sealed class Router(ReplicatedDbOptions options)
{
    private readonly ReplicaSelector _selector = new(options.LoadBalancing);
    private int _nextWait = -1;

    public static RoutingDecision RouteWrite(ClusterSnapshot snapshot, RoutingReason reason, string detail)
    {
        ThrowIfFaulted(snapshot);
        var primary = snapshot.Primary ?? throw NoPrimary(snapshot, "a write");
        return new RoutingDecision(primary.Host, HostRole.Primary, reason, detail);
    }

    /// <param name="snapshot">The current topology.</param>
    /// <param name="request">What the read asks for.</param>
    /// <param name="notCaughtUp">Set when replicas were eligible but none had caught up with the request's minimum position;
    /// the returned decision is then the primary (or, for <see cref="ReadPreference.Replica"/>, default) and the caller applies its policy.</param>
    public RoutingDecision RouteRead(ClusterSnapshot snapshot, in ReadRequest request, out bool notCaughtUp)
    {
        var (preference, detail, hinted, minLsn, only, sticky, exclude) = request;
        ThrowIfFaulted(snapshot);
        notCaughtUp = false;
        var chosenBy = hinted ? RoutingReason.Hint : RoutingReason.ReadPreference;
        switch (preference)
        {
            case ReadPreference.Primary:
                return RouteToPrimary(snapshot, chosenBy, detail, "a read with read preference Primary");

            case ReadPreference.PrimaryPreferred:
                if (snapshot.Primary is { } preferredPrimary && preferredPrimary.Host != exclude && !preferredPrimary.Host.IsUnreachable)
                {
                    return new RoutingDecision(preferredPrimary.Host, HostRole.Primary, chosenBy, detail);
                }

                return PickReplica(snapshot, sticky, exclude, minLsn, only) is { } standIn
                    ? new RoutingDecision(standIn.Host, HostRole.Replica, RoutingReason.NoHealthyReplica, detail)
                    : throw NoPrimary(snapshot, "a read with read preference PrimaryPreferred");

            case ReadPreference.Nearest:
                var nearest = ReplicaSelector.SelectNearest(snapshot.Primary, snapshot.EligibleReplicas, exclude, minLsn, only)
                    ?? throw new NoSuitableHostException($"No host can serve a read with read preference Nearest. Hosts: {snapshot.Describe()}");
                return new RoutingDecision(nearest.Host, nearest.IsInRecovery ? HostRole.Replica : HostRole.Primary, chosenBy, detail);

            case ReadPreference.Replica:
                if (PickReplica(snapshot, sticky, exclude, minLsn, only) is { } required)
                {
                    return new RoutingDecision(required.Host, HostRole.Replica, hinted ? RoutingReason.Hint : RoutingReason.ClassifiedRead, detail);
                }

                if (minLsn != 0 && PickReplica(snapshot, sticky, exclude, 0, only) is not null)
                {
                    notCaughtUp = true;
                    return default;
                }

                throw new NoSuitableHostException($"A read with read preference Replica found no eligible replica. Hosts: {snapshot.Describe()}");

            default:
                if (PickReplica(snapshot, sticky, exclude, minLsn, only) is { } replica)
                {
                    return new RoutingDecision(replica.Host, HostRole.Replica, hinted ? RoutingReason.Hint : RoutingReason.ClassifiedRead, detail);
                }

                notCaughtUp = minLsn != 0 && PickReplica(snapshot, sticky, exclude, 0, only) is not null;
                if (notCaughtUp)
                {
                    // The primary has every write; the caller may still wait or throw instead.
                    return RouteToPrimary(snapshot, RoutingReason.NotCaughtUp, detail, "a read (no replica has caught up)");
                }

                if (!options.FallbackToPrimary)
                {
                    throw new NoSuitableHostException($"No replica is eligible for a read and FallbackToPrimary is off. Hosts: {snapshot.Describe()}");
                }

                return RouteToPrimary(snapshot, snapshot.LaggingReplicas.Length > 0 ? RoutingReason.LagBound : RoutingReason.NoHealthyReplica, detail, "a read (no replica is eligible)");
        }
    }

    /// <summary>The connection's sticky replica if it is still eligible (ignoring positions).</summary>
    public static HostState? PreferredReplica(ClusterSnapshot snapshot, HostRuntime? sticky)
    {
        if (sticky is null)
        {
            return null;
        }

        foreach (var candidate in snapshot.EligibleReplicas)
        {
            if (candidate.Host == sticky)
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The replica with the highest known position among the eligible ones (the best one to wait for).</summary>
    public static HostState? MostAdvancedReplica(ClusterSnapshot snapshot, HostRuntime? exclude)
    {
        HostState? best = null;
        foreach (var host in snapshot.EligibleReplicas)
        {
            if (host.Host != exclude && !host.Host.IsUnreachable && (best is null || host.Host.KnownLsn > best.Host.KnownLsn))
            {
                best = host;
            }
        }

        return best;
    }

    /// <summary>
    /// A replica worth waiting for, taken in turn among the eligible ones that can catch up in time — known to have
    /// replayed <paramref name="mustHave"/>, their measured lag within <paramref name="within"/> — so that waiting reads
    /// spread over every such replica rather than all queue on the most advanced one. Null when none qualifies.
    /// </summary>
    /// <param name="snapshot">The current topology.</param>
    /// <param name="within">The most measured lag a replica may have to be waited for.</param>
    /// <param name="mustHave">A position the replica must be known to have replayed already.</param>
    /// <param name="rejoinAt">For a rejoin: now (a <see cref="TimeProvider"/> timestamp), to skip replicas whose rejoin
    /// backoff runs; 0 for the Wait policy, which waits on any.</param>
    public HostState? ReplicaToWaitFor(ClusterSnapshot snapshot, TimeSpan within, ulong mustHave, long rejoinAt = 0)
    {
        var eligible = snapshot.EligibleReplicas;
        var count = eligible.Length;
        if (count == 0)
        {
            return null;
        }

        var start = (int)((uint)Interlocked.Increment(ref _nextWait) % (uint)count);
        for (var i = 0; i < count; i++)
        {
            var host = eligible[(start + i) % count];
            if (ReplicaSelector.IsCandidate(host, null, mustHave) && snapshot.Lags[host.Host.Index] is { } lag && lag <= within && (rejoinAt == 0 || rejoinAt >= host.Host.RejoinNotBefore))
            {
                return host;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="host"/> is an eligible replica in <paramref name="snapshot"/>.</summary>
    public static bool IsEligible(ClusterSnapshot snapshot, HostRuntime host) => PreferredReplica(snapshot, host) is not null;

    private HostState? PickReplica(ClusterSnapshot snapshot, HostRuntime? sticky, HostRuntime? exclude, ulong minLsn, HostRuntime? only)
    {
        if (only is not null)
        {
            return PreferredReplica(snapshot, only) is { } onlyState && ReplicaSelector.IsCandidate(onlyState, exclude, minLsn) ? onlyState : null;
        }

        if (sticky is not null)
        {
            foreach (var candidate in snapshot.EligibleReplicas)
            {
                if (candidate.Host == sticky && ReplicaSelector.IsCandidate(candidate, exclude, minLsn))
                {
                    return candidate;
                }
            }
        }

        return _selector.Select(snapshot.EligibleReplicas, exclude, minLsn);
    }

    private static RoutingDecision RouteToPrimary(ClusterSnapshot snapshot, RoutingReason reason, string detail, string what)
    {
        var primary = snapshot.Primary ?? throw NoPrimary(snapshot, what);
        return new RoutingDecision(primary.Host, HostRole.Primary, reason, detail);
    }

    private static void ThrowIfFaulted(ClusterSnapshot snapshot)
    {
        if (snapshot.Fault is ClusterMismatchException mismatch)
        {
            throw new ClusterMismatchException(mismatch.Message);
        }
    }

    private static NoSuitableHostException NoPrimary(ClusterSnapshot snapshot, string what) =>
        new($"No primary is available for {what}. Hosts: {snapshot.Describe()}") { NoPrimary = true };
}
