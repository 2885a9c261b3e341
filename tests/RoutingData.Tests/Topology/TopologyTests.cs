using Dapper;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Topology;

/// <summary>Lag bounds, unhealthy hosts and foreign clusters: each test breaks a cluster of its own.</summary>
public sealed class TopologyTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Replicas_past_the_lag_bound_in_bytes_or_time_take_no_reads()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        var (lagging, fresh) = (cluster.Replicas[0], cluster.Replicas[1]);
        await cluster.Primary.ExecuteAsync("CREATE TABLE filler (payload text)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.UseMaxReplicaLag(TimeSpan.FromSeconds(1), maxLagBytes: 16 * 1024));

        // Byte lag: a replica whose replay is paused falls behind by every byte the primary writes.
        await lagging.ExecuteAsync("SELECT pg_wal_replay_pause()", _ct);
        await cluster.Primary.ExecuteAsync("INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 200)", _ct);
        await fresh.WaitForReplayAsync(await cluster.Primary.GetLsnAsync(_ct), TimeSpan.FromSeconds(30), _ct);
        await WaitForHostAsync(dataSource, lagging.Port, h => !h.TakesReads, "the paused replica to leave the read set");

        var laggingStatus = dataSource.GetHosts().Single(h => h.Host.EndsWith($":{lagging.Port}", StringComparison.Ordinal));
        Assert.True(laggingStatus.LagBytes > 16 * 1024, $"lag {laggingStatus.LagBytes} bytes");
        Assert.True(dataSource.GetHosts().Single(h => h.Host.EndsWith($":{fresh.Port}", StringComparison.Ordinal)).TakesReads);
        for (var i = 0; i < 10; i++)
        {
            await using var connection = dataSource.CreateConnection();
            Assert.Equal(fresh.Port, (await WhereAsync(connection)).Port);
        }

        // Time lag: delayed apply holds the commit back; once it is older than the bound, the replica is out too,
        // and reads fall back to the primary saying why.
        await fresh.SetReplayDelayAsync(TimeSpan.FromMinutes(5), _ct);
        await cluster.Primary.ExecuteAsync("INSERT INTO filler VALUES ('late')", _ct);
        await WaitForHostAsync(dataSource, fresh.Port, h => !h.TakesReads, "the delayed replica to pass the 1 s bound");
        Assert.True(dataSource.GetHosts().Single(h => h.Host.EndsWith($":{fresh.Port}", StringComparison.Ordinal)).ReplayDelay > TimeSpan.FromSeconds(1));

        await using var last = dataSource.CreateConnection();
        Assert.Equal(cluster.Primary.Port, (await WhereAsync(last)).Port);
        Assert.Equal(RoutingReason.LagBound, last.LastRoute!.Value.Reason);
    }

    [Fact]
    public async Task A_replica_cut_off_from_the_primary_leaves_the_read_set_once_it_is_older_than_the_bound()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        var (cutOff, streaming) = (cluster.Replicas[0], cluster.Replicas[1]);
        await cluster.Primary.ExecuteAsync("CREATE TABLE ticks (id int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.UseMaxReplicaLag(TimeSpan.FromSeconds(1)));

        // Its WAL receiver can no longer connect: it has replayed everything it received, and nothing new arrives.
        await cutOff.ExecuteAsync("ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 user=postgres'", _ct);
        await cutOff.ExecuteAsync("SELECT pg_reload_conf()", _ct);
        await cluster.Primary.ExecuteAsync("INSERT INTO ticks VALUES (1)", _ct);
        await WaitForHostAsync(dataSource, cutOff.Port, h => !h.TakesReads, "the cut-off replica to leave the read set");

        Assert.True(dataSource.GetHosts().Single(h => h.Host.EndsWith($":{streaming.Port}", StringComparison.Ordinal)).TakesReads);
        await using var connection = dataSource.CreateConnection();
        Assert.Equal(streaming.Port, (await WhereAsync(connection)).Port);
    }

    private async Task WaitForHostAsync(ReplicatedDataSource dataSource, int port, Func<HostStatus, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            await dataSource.RefreshTopologyAsync(_ct);
            if (condition(dataSource.GetHosts().Single(h => h.Host.EndsWith($":{port}", StringComparison.Ordinal))))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50, _ct);
        }
    }

    [Fact]
    public async Task An_unhealthy_replica_is_skipped_and_reads_fall_back_to_the_primary_when_none_is_left()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await using var dataSource = await CreateDataSourceAsync(cluster);
        var (dead, alive) = (cluster.Replicas[0], cluster.Replicas[1]);

        await dead.KillAsync(_ct);
        await dataSource.RefreshTopologyAsync(_ct);
        var deadStatus = dataSource.GetHosts().Single(h => h.Host.EndsWith($":{dead.Port}", StringComparison.Ordinal));
        Assert.Equal(HostHealth.Unhealthy, deadStatus.Health);
        Assert.NotNull(deadStatus.LastError);

        for (var i = 0; i < 6; i++)
        {
            await using var connection = dataSource.CreateConnection();
            Assert.Equal(alive.Port, (await WhereAsync(connection)).Port);
        }

        await alive.StopAsync(ShutdownMode.Immediate, _ct);
        await dataSource.RefreshTopologyAsync(_ct);
        await using var fallback = dataSource.CreateConnection();
        Assert.Equal(cluster.Primary.Port, (await WhereAsync(fallback)).Port);
        Assert.Equal(RoutingReason.NoHealthyReplica, fallback.LastRoute!.Value.Reason);

        // Strict replica reads have nowhere to go: a typed exception naming the hosts.
        await using var strict = dataSource.CreateConnection(ReadPreference.Replica);
        var error = await Assert.ThrowsAsync<NoSuitableHostException>(() => WhereAsync(strict));
        Assert.Contains($":{dead.Port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("unhealthy", error.Message, StringComparison.Ordinal);

        // With FallbackToPrimary off, even ReplicaPreferred reads refuse to load the primary.
        await using (var noFallback = await CreateDataSourceAsync(cluster, b => b.Options.FallbackToPrimary = false))
        await using (var refused = noFallback.CreateConnection())
        {
            var noReplica = await Assert.ThrowsAsync<NoSuitableHostException>(() => WhereAsync(refused));
            Assert.Contains("FallbackToPrimary is off", noReplica.Message, StringComparison.Ordinal);
        }

        // A revived replica is found again by the next probes.
        await dead.StartAsync(_ct);
        await dataSource.RefreshTopologyAsync(_ct);
        await using var revived = dataSource.CreateConnection();
        Assert.Equal(dead.Port, (await WhereAsync(revived)).Port);
    }

    [Fact]
    public async Task Hosts_from_two_clusters_are_refused_with_both_named()
    {
        await using var first = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 0 }, _ct);
        await using var second = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 0 }, _ct);
        await using var dataSource = new ReplicatedDataSourceBuilder(
            $"Host=127.0.0.1:{first.Primary.Port},127.0.0.1:{second.Primary.Port};Username=postgres;Database=postgres").Build();
        await using var connection = dataSource.CreateConnection();

        var error = await Assert.ThrowsAsync<ClusterMismatchException>(() => connection.ExecuteScalarAsync<int>("SELECT 1"));

        Assert.Contains($"127.0.0.1:{first.Primary.Port}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{second.Primary.Port}", error.Message, StringComparison.Ordinal);
        Assert.Contains((await first.Primary.GetSystemIdentifierAsync(_ct)).ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_reachable_host_gives_a_typed_exception_naming_each_host_without_the_password()
    {
        var ports = new[] { FreePort(), FreePort() };
        await using var dataSource = new ReplicatedDataSourceBuilder(
            $"Host=127.0.0.1:{ports[0]},127.0.0.1:{ports[1]};Username=app;Password=s3cr3t-pw;Database=app")
        {
            Options = { TopologyProbeTimeout = TimeSpan.FromSeconds(1) },
        }.Build();
        await using var connection = dataSource.CreateConnection();

        var error = await Assert.ThrowsAsync<NoSuitableHostException>(() => connection.ExecuteAsync("INSERT INTO t VALUES (1)"));

        Assert.Contains($"127.0.0.1:{ports[0]}: unhealthy", error.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{ports[1]}: unhealthy", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", error.ToString(), StringComparison.Ordinal);

        // Never reached: unhealthy, and no role (unknown is not primary).
        Assert.All(dataSource.GetHosts(), h => Assert.Equal((HostHealth.Unhealthy, (HostRole?)null), (h.Health, h.Role)));
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
