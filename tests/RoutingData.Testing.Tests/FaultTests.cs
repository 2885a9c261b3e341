using Npgsql;
using RoutingData.Testing.Xunit;
using Xunit;

namespace RoutingData.Testing.Tests;

/// <summary>Destructive faults: each test gets a cluster of its own.</summary>
public sealed class FaultTests : ClusterTestBase
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Promotion_makes_the_standby_writable_on_a_new_timeline()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        var standby = cluster.Replicas[0];
        Assert.Equal(1, await standby.GetTimelineAsync(_ct));

        await cluster.Primary.StopAsync(ShutdownMode.Fast, _ct);
        await cluster.PromoteAsync(standby, _ct);

        Assert.Same(standby, cluster.Primary);
        Assert.False(await standby.IsInRecoveryAsync(_ct));
        Assert.Equal(2, await standby.GetTimelineAsync(_ct));
        await standby.ExecuteAsync("CREATE TABLE after_promotion (id int); INSERT INTO after_promotion VALUES (1)", _ct);
        Assert.Equal(1L, await standby.ExecuteScalarAsync<long>("SELECT count(*) FROM after_promotion", _ct));
    }

    [Fact]
    public async Task Split_brain_gives_two_writable_hosts_on_different_timelines()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        var oldPrimary = cluster.Primary;
        var standby = cluster.Replicas[0];

        await oldPrimary.StopAsync(ShutdownMode.Immediate, _ct);
        await cluster.PromoteAsync(standby, _ct);
        await cluster.StartAsSplitBrainPrimaryAsync(oldPrimary, _ct);

        Assert.False(await oldPrimary.IsInRecoveryAsync(_ct));
        Assert.False(await standby.IsInRecoveryAsync(_ct));
        var oldTimeline = await oldPrimary.GetTimelineAsync(_ct);
        var newTimeline = await standby.GetTimelineAsync(_ct);
        Assert.Equal(1, oldTimeline);
        Assert.Equal(2, newTimeline);
        Assert.Equal(await oldPrimary.GetSystemIdentifierAsync(_ct), await standby.GetSystemIdentifierAsync(_ct));

        // Both accept writes, and the writes diverge.
        await oldPrimary.ExecuteAsync("CREATE TABLE brain (side text); INSERT INTO brain VALUES ('old')", _ct);
        await standby.ExecuteAsync("CREATE TABLE brain (side text); INSERT INTO brain VALUES ('new')", _ct);
        Assert.Equal("old", await oldPrimary.ExecuteScalarAsync<string>("SELECT side FROM brain", _ct));
        Assert.Equal("new", await standby.ExecuteScalarAsync<string>("SELECT side FROM brain", _ct));
    }

    [Fact]
    public async Task Old_primary_rejoins_as_a_standby_with_pg_rewind()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        var oldPrimary = cluster.Primary;
        var standby = cluster.Replicas[0];

        await oldPrimary.KillAsync(_ct);
        await cluster.PromoteAsync(standby, _ct);
        await standby.ExecuteAsync("CREATE TABLE after_failover (id int); INSERT INTO after_failover VALUES (7)", _ct);

        // Diverge the old primary first, so pg_rewind has something to undo.
        await cluster.StartAsSplitBrainPrimaryAsync(oldPrimary, _ct);
        await oldPrimary.ExecuteAsync("CREATE TABLE diverged (id int)", _ct);

        await cluster.RejoinAsStandbyAsync(oldPrimary, standby, _ct);

        Assert.Equal(NodeRole.Standby, oldPrimary.Role);
        Assert.True(await oldPrimary.IsInRecoveryAsync(_ct));
        await oldPrimary.WaitForReplayAsync(await standby.GetLsnAsync(_ct), Deadline, _ct);
        Assert.Equal(7, await oldPrimary.ExecuteScalarAsync<int>("SELECT id FROM after_failover", _ct));
        Assert.Null(await oldPrimary.ExecuteScalarAsync<string>("SELECT to_regclass('diverged')::text", _ct));
        Assert.Equal(2, await oldPrimary.GetTimelineAsync(_ct));
    }

    [Fact]
    public async Task Standby_repointed_at_the_promoted_primary_follows_it()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        var oldPrimary = cluster.Primary;
        var (promoted, follower) = (cluster.Replicas[0], cluster.Replicas[1]);

        await oldPrimary.StopAsync(ShutdownMode.Fast, _ct);
        await cluster.PromoteAsync(promoted, _ct);
        await cluster.RepointAsync(follower, promoted, _ct);

        await promoted.ExecuteAsync("CREATE TABLE followed (id int); INSERT INTO followed VALUES (3)", _ct);
        await follower.WaitForReplayAsync(await promoted.GetLsnAsync(_ct), Deadline, _ct);
        Assert.Equal(3, await follower.ExecuteScalarAsync<int>("SELECT id FROM followed", _ct));
        Assert.Equal(2, await follower.GetTimelineAsync(_ct));
    }

    [Fact]
    public async Task Killed_primary_refuses_connections_and_recovers_on_start()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 0 });
        var primary = cluster.Primary;
        await primary.ExecuteAsync("CREATE TABLE survives (id int); INSERT INTO survives VALUES (1)", _ct);

        await primary.KillAsync(_ct);
        Assert.False(primary.IsRunning);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => primary.ExecuteAsync("SELECT 1", _ct));

        await primary.StartAsync(_ct);
        Assert.Equal(1L, await primary.ExecuteScalarAsync<long>("SELECT count(*) FROM survives", _ct));
    }

    [Fact]
    public async Task Synchronous_standby_is_reported_sync()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2, SynchronousReplicas = 1 });

        Assert.Equal("FIRST 1 (pg1)", await cluster.Primary.ExecuteScalarAsync<string>("SHOW synchronous_standby_names", _ct));
        Assert.Equal("sync", await cluster.Primary.ExecuteScalarAsync<string>("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pg1'", _ct));
        Assert.Equal("async", await cluster.Primary.ExecuteScalarAsync<string>("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pg2'", _ct));
    }
}
