using Npgsql;
using NpgsqlTypes;
using RoutingData.Topology;
using Xunit;

namespace RoutingData.Tests.Topology;

/// <summary>Replica lag measured against the primary's past positions: what the time bound sees, without a server.</summary>
public sealed class ReplicaLagTests
{
    private const long Frequency = 1000; // Timestamps in milliseconds.
    private static readonly NpgsqlDataSource Unused = NpgsqlDataSource.Create("Host=unused.invalid");

    [Fact]
    public void A_replica_at_the_newest_primary_position_has_no_lag_even_on_an_idle_primary()
    {
        var history = History();
        history.Add(0, 1, At(0), 1000);
        history.Add(0, 1, At(60_000), 1000);

        Assert.Equal(TimeSpan.Zero, history.Estimate(1000, At(120_000)).Lag);
        Assert.False(history.Estimate(1000, At(120_000)).IsLowerBound);
    }

    [Fact]
    public void Lag_is_the_time_since_the_primary_passed_the_replayed_position()
    {
        var history = History();
        history.Add(0, 1, At(0), 1000);
        history.Add(0, 1, At(1000), 2000);
        history.Add(0, 1, At(2000), 3000);

        // The primary passed 1500 halfway between 0 and 1 s; the replica answered at 5 s.
        var estimate = history.Estimate(1500, At(5000));
        Assert.False(estimate.IsLowerBound);
        Assert.Equal(4.5, estimate.Lag.TotalSeconds, 3);

        // A stalled stream: the position stays, the primary moves on, the lag grows with the clock.
        history.Add(0, 1, At(9000), 9000);
        Assert.Equal(8.5, history.Estimate(1500, At(9000)).Lag.TotalSeconds, 3);
    }

    [Fact]
    public void A_position_older_than_every_sample_is_only_a_lower_bound_and_no_sample_is_unknown()
    {
        var history = History();
        Assert.False(history.Estimate(5, At(0)).IsKnown);

        history.Add(0, 1, At(10_000), 1000);
        var estimate = history.Estimate(999, At(10_500));
        Assert.True(estimate.IsLowerBound);
        Assert.Equal(0.5, estimate.Lag.TotalSeconds, 3);
    }

    [Fact]
    public void Another_primary_or_timeline_starts_the_history_over()
    {
        var history = History();
        history.Add(0, 1, At(0), 1000);
        history.Add(0, 1, At(1000), 2000);
        history.Add(1, 2, At(2000), 2100);

        Assert.Equal(1, history.Count);
        Assert.True(history.Estimate(1500, At(2000)).IsLowerBound);
    }

    [Fact]
    public void Samples_closer_than_the_spacing_replace_the_newest_so_the_ring_reaches_back()
    {
        var history = new PrimaryPositionHistory(TimeSpan.FromSeconds(1), Frequency);
        for (var ms = 0; ms <= 600_000; ms += 100)
        {
            history.Add(0, 1, At(ms), (ulong)(1000 + ms));
        }

        // 6001 probes, 256 samples about a second apart (the newest keeps moving): the oldest is minutes back.
        Assert.Equal(256, history.Count);
        Assert.True(history.Coverage(At(600_000)) > TimeSpan.FromMinutes(3.5), history.Coverage(At(600_000)).ToString());
        Assert.Equal(0.05, history.Estimate(1000 + 599_950, At(600_000)).Lag.TotalSeconds, 3);
    }

    [Fact]
    public void A_replica_restarted_far_behind_takes_no_reads_though_it_reports_no_replay_delay()
    {
        var options = new ReplicatedDbOptions { MaxReplicaLag = TimeSpan.FromSeconds(1) };
        var history = History();
        var primary = State(0, inRecovery: false, lsn: 5000, at: At(10_000));

        // Its own word: replay timestamp NULL after the restart, so no delay. The history does not reach back to it.
        var restarted = State(1, inRecovery: true, lsn: 100, at: At(10_000)) with { ReplayDelay = null };
        var current = State(2, inRecovery: true, lsn: 5000, at: At(10_000));
        var snapshot = ClusterSnapshot.Create([primary, restarted, current], options, history: history);

        Assert.DoesNotContain(restarted, snapshot.EligibleReplicas);
        Assert.Contains(restarted, snapshot.LaggingReplicas);
        Assert.Contains(current, snapshot.EligibleReplicas);
        Assert.Equal(TimeSpan.Zero, snapshot.Lags[2]);
    }

    [Fact]
    public void A_stalled_replica_leaves_the_read_set_once_the_primary_moves_on_past_the_bound()
    {
        var options = new ReplicatedDbOptions { MaxReplicaLag = TimeSpan.FromSeconds(1) };
        var history = History();
        var stalled = State(1, inRecovery: true, lsn: 1000, at: At(0));
        var first = ClusterSnapshot.Create([State(0, inRecovery: false, lsn: 1000, at: At(0)), stalled], options, history: history);
        Assert.Contains(first.Hosts[1], first.EligibleReplicas);

        // Replay equals receive, the receiver runs, no replay delay reported — but the primary has moved on for 2 s.
        var later = ClusterSnapshot.Create(
            [State(0, inRecovery: false, lsn: 9000, at: At(2000)), stalled with { ProbeAnsweredAt = At(2000) }],
            options,
            history: history);
        Assert.Empty(later.EligibleReplicas);
        Assert.True(later.Lags[1] >= TimeSpan.FromSeconds(1.9), later.Describe());
    }

    [Fact]
    public void The_byte_bound_is_on_by_default()
    {
        var options = new ReplicatedDbOptions();
        Assert.Equal(64L * 1024 * 1024, options.MaxReplicaLagBytes);
        var far = State(1, inRecovery: true, lsn: 1, at: At(0));
        var snapshot = ClusterSnapshot.Create([State(0, inRecovery: false, lsn: 200L * 1024 * 1024, at: At(0)), far], options);
        Assert.Empty(snapshot.EligibleReplicas);
    }

    [Theory]
    [InlineData(0.5, false)]
    [InlineData(1.0, true)]
    public void A_replica_out_for_lag_comes_back_only_below_the_readmit_fraction_of_the_bound(double fraction, bool backAt700)
    {
        var options = new ReplicatedDbOptions { MaxReplicaLag = null, MaxReplicaLagBytes = 1000, LagReadmitFraction = fraction };
        var primary = State(0, inRecovery: false, lsn: 10_000, at: At(0));
        var replica = State(1, inRecovery: true, lsn: 8_000, at: At(0));
        ClusterSnapshot Next(long lsn, ClusterSnapshot? previous) =>
            ClusterSnapshot.Create([primary, replica with { Lsn = new NpgsqlLogSequenceNumber((ulong)lsn) }], options, previous: previous);

        var behind2000 = Next(8_000, null);
        Assert.True(behind2000.IsLagging(replica.Host));

        // Within the bound again, but not by much: with hysteresis still out, without it back in.
        var behind700 = Next(9_300, behind2000);
        Assert.Equal(backAt700, behind700.EligibleReplicas.Length == 1);

        var behind400 = Next(9_600, behind700);
        Assert.Single(behind400.EligibleReplicas);

        // Once in, it stays in up to the bound itself, and leaves past it.
        var behind800 = Next(9_200, behind400);
        Assert.Single(behind800.EligibleReplicas);
        Assert.True(Next(8_900, behind800).IsLagging(replica.Host));
    }

    [Fact]
    public void A_replica_where_a_rejoin_failed_is_not_waited_on_by_any_session_until_its_backoff_ends()
    {
        var options = new ReplicatedDbOptions();
        var snapshot = ClusterSnapshot.Create(
            [State(0, inRecovery: false, lsn: 1000, at: At(0)), State(1, inRecovery: true, lsn: 1000, at: At(0)), State(2, inRecovery: true, lsn: 1000, at: At(0))],
            options);
        var router = new RoutingData.Routing.Router(options);
        int[] Picks(long now) => [.. Enumerable.Range(0, 4).Select(_ => router.ReplicaToWaitFor(snapshot, TimeSpan.FromSeconds(1), 0, now)!.Host.Index)];
        Assert.Equal([1, 2], Picks(now: 5_000).Distinct().Order());

        // A wait on replica 1 did not catch up at t = 5 s: for 1 s (then 2, 4, …) rejoins go to replica 2 only.
        snapshot.Hosts[1].Host.RecordRejoin(caughtUp: false, now: 5_000, ticksPerSecond: Frequency);
        Assert.Equal([2], Picks(now: 5_500).Distinct());
        Assert.Equal([1, 2], Picks(now: 6_000).Distinct().Order());
        snapshot.Hosts[1].Host.RecordRejoin(caughtUp: false, now: 6_000, ticksPerSecond: Frequency);
        Assert.Equal([2], Picks(now: 7_900).Distinct());

        // The Wait policy is no rejoin: it waits on any replica that can catch up. A rejoin that works clears the backoff.
        Assert.Equal([1, 2], Enumerable.Range(0, 4).Select(_ => router.ReplicaToWaitFor(snapshot, TimeSpan.FromSeconds(1), 0)!.Host.Index).Distinct().Order());
        snapshot.Hosts[1].Host.RecordRejoin(caughtUp: true, now: 7_900, ticksPerSecond: Frequency);
        Assert.Equal([1, 2], Picks(now: 7_900).Distinct().Order());
    }

    private static PrimaryPositionHistory History() => new(TimeSpan.FromMilliseconds(10), Frequency);

    private static long At(long milliseconds) => milliseconds;

    private static HostState State(int index, bool inRecovery, long lsn, long at) => new()
    {
        Host = new HostRuntime(index, new HostEndpoint("h" + index, 5432), Unused, Unused, 1),
        Health = HostHealth.Healthy,
        IsInRecovery = inRecovery,
        Timeline = 1,
        Lsn = new NpgsqlLogSequenceNumber((ulong)lsn),
        ProbeSentAt = at,
        ProbeAnsweredAt = at,
    };
}
