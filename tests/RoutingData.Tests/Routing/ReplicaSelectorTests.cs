using Npgsql;
using RoutingData.Routing;
using RoutingData.Topology;
using Xunit;

namespace RoutingData.Tests.Routing;

/// <summary>The selection strategies over snapshots built in memory (pure logic: no server involved).</summary>
public sealed class ReplicaSelectorTests
{
    private static readonly NpgsqlDataSource Unused = NpgsqlDataSource.Create("Host=unused.invalid");

    [Fact]
    public void Round_robin_takes_each_replica_in_turn()
    {
        var replicas = Replicas(3);
        var selector = new ReplicaSelector(LoadBalancingStrategy.RoundRobin);

        var picks = Enumerable.Range(0, 6).Select(_ => selector.Select(replicas, null)!.Host.Index).ToArray();

        Assert.Equal([0, 1, 2, 0, 1, 2], picks);
    }

    [Fact]
    public void Least_outstanding_prefers_the_less_busy_of_two_choices()
    {
        var replicas = Replicas(2);
        for (var i = 0; i < 50; i++)
        {
            replicas[0].Host.BeginCommand();
        }

        var selector = new ReplicaSelector(LoadBalancingStrategy.LeastOutstanding);
        var picks = Enumerable.Range(0, 1000).Count(_ => selector.Select(replicas, null)!.Host.Index == 1);

        // Two random draws hit the busy host twice only a quarter of the time: the idle one wins ~75%.
        Assert.InRange(picks, 650, 850);
    }

    [Fact]
    public void Weighted_selection_follows_the_weights_and_weight_zero_takes_nothing()
    {
        var replicas = Replicas(3, weights: [3, 1, 0]);
        var selector = new ReplicaSelector(LoadBalancingStrategy.Weighted);

        var counts = new int[3];
        for (var i = 0; i < 4000; i++)
        {
            counts[selector.Select(replicas, null)!.Host.Index]++;
        }

        Assert.Equal(0, counts[2]);
        Assert.InRange(counts[0] / (double)counts[1], 2.4, 3.8);
    }

    [Fact]
    public void Random_selection_uses_every_replica_and_never_the_excluded_one()
    {
        var replicas = Replicas(3);
        var selector = new ReplicaSelector(LoadBalancingStrategy.Random);

        var seen = Enumerable.Range(0, 300).Select(_ => selector.Select(replicas, replicas[1].Host)!.Host.Index).ToHashSet();

        Assert.Equal([0, 2], seen.Order());
    }

    [Fact]
    public void Nothing_eligible_selects_nothing()
    {
        var one = Replicas(1);
        Assert.Null(new ReplicaSelector(LoadBalancingStrategy.RoundRobin).Select([], null));
        Assert.Null(new ReplicaSelector(LoadBalancingStrategy.RoundRobin).Select(one, one[0].Host));
    }

    [Fact]
    public void Nearest_picks_the_lowest_round_trip_time_including_the_primary()
    {
        var replicas = Replicas(2, rtts: [5, 2]);
        var primary = State(9, weight: 1, rtt: 3, inRecovery: false);

        Assert.Equal(1, ReplicaSelector.SelectNearest(primary, replicas, null)!.Host.Index);
        Assert.Equal(9, ReplicaSelector.SelectNearest(primary, replicas, replicas[1].Host)!.Host.Index);
    }

    private static HostState[] Replicas(int count, int[]? weights = null, int[]? rtts = null) =>
        Enumerable.Range(0, count).Select(i => State(i, weights?[i] ?? 1, rtts?[i] ?? 1, inRecovery: true)).ToArray();

    private static HostState State(int index, int weight, int rtt, bool inRecovery) => new()
    {
        Host = new HostRuntime(index, new HostEndpoint("h" + index, 5432), Unused, Unused, weight),
        Health = HostHealth.Healthy,
        IsInRecovery = inRecovery,
        RoundTripTime = TimeSpan.FromMilliseconds(rtt),
    };
}
