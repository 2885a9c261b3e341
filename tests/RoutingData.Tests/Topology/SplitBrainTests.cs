using Dapper;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Topology;

/// <summary>
/// Timelines and split brains through the library, on real clusters: the newest timeline's primary takes every write,
/// a stale primary and the standbys still following it get nothing, a tie gets no writes at all, and a connection
/// whose session state lives on a primary that is no longer the primary fails rather than move.
/// </summary>
public sealed class SplitBrainTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_newest_timeline_takes_the_writes_and_the_old_primary_and_its_standby_get_nothing()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var (oldPrimary, promoted, orphan) = (cluster.Primary, cluster.Replicas[0], cluster.Replicas[1]);
        await using var dataSource = await CreateDataSourceAsync(cluster);

        // The primary dies, a standby is promoted (timeline 2), the old primary comes back writable on timeline 1 and the
        // other standby still follows it: two writable hosts, and a standby on the old timeline.
        await oldPrimary.KillAsync(_ct);
        await cluster.PromoteAsync(promoted, _ct);
        await cluster.StartAsSplitBrainPrimaryAsync(oldPrimary, _ct);
        Assert.Equal(2, await promoted.GetTimelineAsync(_ct));
        Assert.Equal(1, await oldPrimary.GetTimelineAsync(_ct));
        await WaitUntilAsync(
            async () =>
            {
                await dataSource.RefreshTopologyAsync(_ct);
                return dataSource.GetHosts().Count(h => h.Role == HostRole.Primary) == 2 && Status(dataSource, orphan).Health == HostHealth.Healthy;
            },
            "both primaries and the orphaned standby to answer probes");

        for (var i = 0; i < 20; i++)
        {
            await using var connection = await dataSource.OpenConnectionAsync(_ct);
            Assert.Equal(promoted.Port, await connection.ExecuteScalarAsync<int>("INSERT INTO t VALUES (1) RETURNING inet_server_port()"));
            await using var reader = await dataSource.OpenConnectionAsync(_ct);
            var (port, _) = await WhereAsync(reader);
            Assert.NotEqual(oldPrimary.Port, port);
            Assert.NotEqual(orphan.Port, port);
        }

        Assert.False(Status(dataSource, orphan).TakesReads);
        Assert.Equal(0L, await oldPrimary.ExecuteScalarAsync<long>("SELECT count(*) FROM t", _ct));

        // The new primary misses probes (stopped): still nothing for the fenced old primary, nor for its standby.
        await promoted.StopAsync(ShutdownMode.Immediate, _ct);
        await dataSource.RefreshTopologyAsync(_ct);
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            await Assert.ThrowsAsync<NoSuitableHostException>(() => connection.ExecuteAsync("INSERT INTO t VALUES (2)"));
            await Assert.ThrowsAsync<NoSuitableHostException>(() => connection.ExecuteScalarAsync<int>("SELECT 1", commandTimeout: 5));
        }

        Assert.Equal(0L, await oldPrimary.ExecuteScalarAsync<long>("SELECT count(*) FROM t", _ct));
    }

    [Fact]
    public async Task Two_primaries_on_the_same_timeline_get_no_writes()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await using var dataSource = await CreateDataSourceAsync(cluster);
        var (first, second) = (cluster.Replicas[0], cluster.Replicas[1]);
        await cluster.Primary.StopAsync(ShutdownMode.Immediate, _ct);

        // Both standbys promoted on their own: both on timeline 2, neither can be told to be the one.
        await cluster.PromoteAsync(first, _ct);
        await cluster.PromoteAsync(second, _ct);
        await dataSource.RefreshTopologyAsync(_ct);
        Assert.Equal(2, dataSource.GetHosts().Count(h => h.Role == HostRole.Primary && h.Timeline == 2));

        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        var error = await Assert.ThrowsAsync<NoSuitableHostException>(() => connection.ExecuteAsync("CREATE TABLE nowhere (id int)"));
        Assert.Contains($":{first.Port}", error.Message, StringComparison.Ordinal);
        Assert.Contains($":{second.Port}", error.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await first.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_class WHERE relname = 'nowhere'", _ct));
        Assert.Equal(0L, await second.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_class WHERE relname = 'nowhere'", _ct));
    }

    [Fact]
    public async Task A_connection_pinned_by_session_state_fails_when_the_primary_changes_instead_of_losing_it()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await connection.ExecuteAsync("SET application_name = 'pinned'");
        Assert.True(connection.IsPinnedToPrimary);

        await cluster.Primary.KillAsync(_ct);
        await cluster.PromoteAsync(cluster.Replicas[0], _ct);
        await WaitUntilAsync(
            async () =>
            {
                await dataSource.RefreshTopologyAsync(_ct);
                return dataSource.GetHosts().Any(h => h.Role == HostRole.Primary && h.Timeline == 2);
            },
            "the promoted primary to be seen");

        var error = await Assert.ThrowsAsync<NoSuitableHostException>(() => connection.ExecuteScalarAsync<string>("SHOW application_name"));
        Assert.Contains("pinned", error.Message, StringComparison.Ordinal);

        // A new connection works on the new primary, without the old session state.
        await using var fresh = await dataSource.OpenConnectionAsync(_ct);
        fresh.ReadPreference = ReadPreference.Primary;
        Assert.NotEqual("pinned", await fresh.ExecuteScalarAsync<string>("SHOW application_name"));
    }

    private static HostStatus Status(ReplicatedDataSource dataSource, PostgresNode node) =>
        dataSource.GetHosts().Single(h => h.Host.EndsWith($":{node.Port}", StringComparison.Ordinal));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
