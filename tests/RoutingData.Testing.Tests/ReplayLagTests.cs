using System.Diagnostics;
using RoutingData.Testing.Xunit;
using Xunit;

namespace RoutingData.Testing.Tests;

public sealed class ReplayLagTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Replay_delay_holds_back_visibility_by_at_least_the_delay_and_can_be_removed_at_run_time()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        var replica = cluster.Replicas[0];
        await cluster.Primary.ExecuteAsync("CREATE TABLE lagged (id int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);

        var delay = TimeSpan.FromSeconds(1);
        await replica.SetReplayDelayAsync(delay, _ct);

        var stopwatch = Stopwatch.StartNew();
        await cluster.Primary.ExecuteAsync("INSERT INTO lagged VALUES (1)", _ct);
        var lsn = await cluster.Primary.GetLsnAsync(_ct);

        // Right after the commit the replica must not show the row yet.
        Assert.Equal(0L, await replica.ExecuteScalarAsync<long>("SELECT count(*) FROM lagged", _ct));

        await replica.WaitForReplayAsync(lsn, TimeSpan.FromSeconds(30), _ct);
        var visibleAfter = stopwatch.Elapsed;
        Assert.Equal(1L, await replica.ExecuteScalarAsync<long>("SELECT count(*) FROM lagged", _ct));
        Assert.True(visibleAfter >= delay, $"The row became visible after {visibleAfter.TotalMilliseconds:0} ms, before the {delay.TotalMilliseconds:0} ms delay.");

        await replica.SetReplayDelayAsync(TimeSpan.Zero, _ct);
        Assert.Equal("0", await replica.ExecuteScalarAsync<string>("SELECT setting FROM pg_settings WHERE name = 'recovery_min_apply_delay'", _ct));
        await cluster.Primary.ExecuteAsync("INSERT INTO lagged VALUES (2)", _ct);
        await replica.WaitForReplayAsync(await cluster.Primary.GetLsnAsync(_ct), TimeSpan.FromSeconds(30), _ct);
        Assert.Equal(2L, await replica.ExecuteScalarAsync<long>("SELECT count(*) FROM lagged", _ct));
    }

    [Fact]
    public async Task Waiting_for_an_lsn_a_lagging_replica_cannot_reach_in_time_fails_with_its_position()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        var replica = cluster.Replicas[0];
        await replica.SetReplayDelayAsync(TimeSpan.FromMinutes(10), _ct);
        await cluster.Primary.ExecuteAsync("CREATE TABLE never_in_time (id int)", _ct);
        var lsn = await cluster.Primary.GetLsnAsync(_ct);

        var error = await Assert.ThrowsAsync<TimeoutException>(() => replica.WaitForReplayAsync(lsn, TimeSpan.FromMilliseconds(300), _ct));
        Assert.Contains(replica.Name, error.Message, StringComparison.Ordinal);
        Assert.Contains(lsn.ToString(), error.Message, StringComparison.Ordinal);
    }
}
