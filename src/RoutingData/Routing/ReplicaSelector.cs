using RoutingData.Topology;

namespace RoutingData.Routing;

/// <summary>
/// Picks one of the eligible replicas by the configured strategy, skipping an excluded host (a retry) and replicas
/// not known to have replayed <c>minLsn</c> (a consistency session's position). Lock-free; allocates nothing.
/// </summary>
internal sealed class ReplicaSelector(LoadBalancingStrategy strategy)
{
    private int _next = -1;

    public LoadBalancingStrategy Strategy { get; } = strategy;

    /// <summary>A candidate replica, or null when there is none.</summary>
    public HostState? Select(HostState[] eligible, HostRuntime? exclude, ulong minLsn = 0)
    {
        var count = eligible.Length;
        if (count == 0)
        {
            return null;
        }

        switch (Strategy)
        {
            case LoadBalancingStrategy.Random:
                return FirstCandidate(eligible, System.Random.Shared.Next(count), exclude, minLsn);
            case LoadBalancingStrategy.LeastOutstanding:
                // Power of two choices: nearly as good as the global minimum, without scanning or herding.
                var a = FirstCandidate(eligible, System.Random.Shared.Next(count), exclude, minLsn);
                var b = FirstCandidate(eligible, System.Random.Shared.Next(count), exclude, minLsn);
                return a is null || b is null ? a ?? b : b.Host.Outstanding < a.Host.Outstanding ? b : a;
            case LoadBalancingStrategy.Weighted:
                return SelectWeighted(eligible, exclude, minLsn);
            default:
                return FirstCandidate(eligible, (int)((uint)Interlocked.Increment(ref _next) % (uint)count), exclude, minLsn);
        }
    }

    /// <summary>The candidate with the lowest smoothed round-trip time, including the primary (always caught up).</summary>
    public static HostState? SelectNearest(HostState? primary, HostState[] eligible, HostRuntime? exclude, ulong minLsn = 0, HostRuntime? only = null)
    {
        HostState? best = primary is not null && primary.Host != exclude && !primary.Host.IsUnreachable ? primary : null;
        foreach (var host in eligible)
        {
            if (IsCandidate(host, exclude, minLsn) && (only is null || host.Host == only) && (best is null || host.RoundTripTime < best.RoundTripTime))
            {
                best = host;
            }
        }

        return best;
    }

    public static bool IsCandidate(HostState host, HostRuntime? exclude, ulong minLsn) =>
        host.Host != exclude && host.Host.KnownLsn >= minLsn && !host.Host.IsUnreachable;

    private static HostState? FirstCandidate(HostState[] eligible, int start, HostRuntime? exclude, ulong minLsn)
    {
        for (var i = 0; i < eligible.Length; i++)
        {
            var host = eligible[(start + i) % eligible.Length];
            if (IsCandidate(host, exclude, minLsn))
            {
                return host;
            }
        }

        return null;
    }

    private static HostState? SelectWeighted(HostState[] eligible, HostRuntime? exclude, ulong minLsn)
    {
        var total = 0;
        foreach (var host in eligible)
        {
            if (IsCandidate(host, exclude, minLsn))
            {
                total += host.Host.Weight;
            }
        }

        if (total <= 0)
        {
            return null;
        }

        var pick = System.Random.Shared.Next(total);
        foreach (var host in eligible)
        {
            if (!IsCandidate(host, exclude, minLsn))
            {
                continue;
            }

            pick -= host.Host.Weight;
            if (pick < 0)
            {
                return host;
            }
        }

        return null;
    }
}
