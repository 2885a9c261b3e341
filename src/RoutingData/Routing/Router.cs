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

    public static RoutingDecision RouteWrite(ClusterSnapshot snapshot, RoutingReason reason, string detail)
    {
        ThrowIfFaulted(snapshot);
        var primary = snapshot.Primary ?? throw NoPrimary(snapshot, "a write");
        return new RoutingDecision(primary.Host, HostRole.Primary, reason, detail);
    }

    /// <param name="snapshot">The current topology.</param>
    /// <param name="preference">The effective read preference.</param>
    /// <param name="hinted">Whether the preference came from a SQL hint (for the reason).</param>
    /// <param name="detail">What the classifier saw.</param>
    /// <param name="sticky">The replica this logical connection already uses; kept while it is eligible.</param>
    /// <param name="exclude">A host not to use (a retry after it failed the read).</param>
    public RoutingDecision RouteRead(ClusterSnapshot snapshot, ReadPreference preference, bool hinted, string detail, HostRuntime? sticky, HostRuntime? exclude)
    {
        ThrowIfFaulted(snapshot);
        var chosenBy = hinted ? RoutingReason.Hint : RoutingReason.ReadPreference;
        switch (preference)
        {
            case ReadPreference.Primary:
                return RouteToPrimary(snapshot, chosenBy, detail, "a read with read preference Primary");

            case ReadPreference.PrimaryPreferred:
                if (snapshot.Primary is { } preferredPrimary && preferredPrimary.Host != exclude)
                {
                    return new RoutingDecision(preferredPrimary.Host, HostRole.Primary, chosenBy, detail);
                }

                return PickReplica(snapshot, sticky, exclude) is { } standIn
                    ? new RoutingDecision(standIn.Host, HostRole.Replica, RoutingReason.NoHealthyReplica, detail)
                    : throw NoPrimary(snapshot, "a read with read preference PrimaryPreferred");

            case ReadPreference.Nearest:
                var nearest = ReplicaSelector.SelectNearest(snapshot.Primary, snapshot.EligibleReplicas, exclude)
                    ?? throw new NoSuitableHostException($"No host can serve a read with read preference Nearest. Hosts: {snapshot.Describe()}");
                return new RoutingDecision(nearest.Host, nearest.IsInRecovery ? HostRole.Replica : HostRole.Primary, chosenBy, detail);

            case ReadPreference.Replica:
                return PickReplica(snapshot, sticky, exclude) is { } required
                    ? new RoutingDecision(required.Host, HostRole.Replica, hinted ? RoutingReason.Hint : RoutingReason.ClassifiedRead, detail)
                    : throw new NoSuitableHostException($"A read with read preference Replica found no eligible replica. Hosts: {snapshot.Describe()}");

            default:
                if (PickReplica(snapshot, sticky, exclude) is { } replica)
                {
                    return new RoutingDecision(replica.Host, HostRole.Replica, hinted ? RoutingReason.Hint : RoutingReason.ClassifiedRead, detail);
                }

                if (!options.FallbackToPrimary)
                {
                    throw new NoSuitableHostException($"No replica is eligible for a read and FallbackToPrimary is off. Hosts: {snapshot.Describe()}");
                }

                return RouteToPrimary(snapshot, snapshot.LaggingReplicas.Length > 0 ? RoutingReason.LagBound : RoutingReason.NoHealthyReplica, detail, "a read (no replica is eligible)");
        }
    }

    private HostState? PickReplica(ClusterSnapshot snapshot, HostRuntime? sticky, HostRuntime? exclude)
    {
        if (sticky is not null && sticky != exclude)
        {
            foreach (var candidate in snapshot.EligibleReplicas)
            {
                if (candidate.Host == sticky)
                {
                    return candidate;
                }
            }
        }

        return _selector.Select(snapshot.EligibleReplicas, exclude);
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
        new($"No primary is available for {what}. Hosts: {snapshot.Describe()}");
}
