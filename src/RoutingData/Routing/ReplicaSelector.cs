using RoutingData.Topology;

namespace RoutingData.Routing;

/// <summary>Picks one of the eligible replicas by the configured strategy. Lock-free; allocates nothing.</summary>
internal sealed class ReplicaSelector(LoadBalancingStrategy strategy)
{
    private int _next = -1;

    public LoadBalancingStrategy Strategy { get; } = strategy;

    /// <summary>An eligible replica other than <paramref name="exclude"/>, or null when there is none.</summary>
    public HostState? Select(HostState[] eligible, HostRuntime? exclude)
    {
        var count = eligible.Length;
        if (count == 0 || (count == 1 && eligible[0].Host == exclude))
        {
            return null;
        }

        HostState choice;
        switch (Strategy)
        {
            case LoadBalancingStrategy.Random:
                choice = eligible[System.Random.Shared.Next(count)];
                break;
            case LoadBalancingStrategy.LeastOutstanding:
                // Power of two choices: nearly as good as the global minimum, without scanning or herding.
                var a = eligible[System.Random.Shared.Next(count)];
                var b = eligible[System.Random.Shared.Next(count)];
                choice = b.Host.Outstanding < a.Host.Outstanding ? b : a;
                break;
            case LoadBalancingStrategy.Weighted:
                var weighted = SelectWeighted(eligible, exclude);
                if (weighted is null)
                {
                    return null;
                }

                choice = weighted;
                break;
            default:
                choice = eligible[(int)((uint)Interlocked.Increment(ref _next) % (uint)count)];
                break;
        }

        if (choice.Host == exclude)
        {
            // Deterministic fallback for retries: the next one in the list.
            choice = eligible[(Array.IndexOf(eligible, choice) + 1) % count];
        }

        return choice;
    }

    /// <summary>The eligible host with the lowest smoothed round-trip time, including the primary.</summary>
    public static HostState? SelectNearest(HostState? primary, HostState[] eligible, HostRuntime? exclude)
    {
        HostState? best = primary is not null && primary.Host != exclude ? primary : null;
        foreach (var host in eligible)
        {
            if (host.Host != exclude && (best is null || host.RoundTripTime < best.RoundTripTime))
            {
                best = host;
            }
        }

        return best;
    }

    private static HostState? SelectWeighted(HostState[] eligible, HostRuntime? exclude)
    {
        var total = 0;
        foreach (var host in eligible)
        {
            if (host.Host != exclude)
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
            if (host.Host == exclude)
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
