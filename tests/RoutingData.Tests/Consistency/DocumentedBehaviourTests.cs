using System.Globalization;
using Dapper;
using Npgsql;
using RoutingData.Testing;
using RoutingData.Testing.Faults;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Consistency;

/// <summary>
/// Behaviour the documentation promises that no other test pinned down: bounded waits, the same-round-trip capture under
/// lag, read-only transactions after a write, a session shared by concurrent connections, restarts and monotonic reads,
/// hung hosts, PrimaryPreferred, and the balancing strategies end to end.
/// </summary>
public sealed class DocumentedBehaviourTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Wait_gives_up_after_its_bound_and_reads_the_primary()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(30), b =>
        {
            b.Options.StaleReadPolicy = StaleReadPolicy.Wait;
            b.Options.MaxReadYourWritesWait = TimeSpan.FromMilliseconds(200);
        });
        await using var _ = dataSource;
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'mine')");

        Assert.Equal("mine", await connection.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 1"));
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
        Assert.Equal(RoutingReason.NotCaughtUp, connection.LastRoute!.Value.Reason);
        Assert.Equal(0L, await cluster.Replicas[0].ExecuteScalarAsync<long>("SELECT count(*) FROM kv", _ct));
    }

    [Fact]
    public async Task Throw_fails_a_read_whose_position_cannot_be_captured_in_time()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);

        // Every round trip to the primary takes 300 ms: the background capture cannot land within a 50 ms wait.
        var proxy = cluster.CreateProxy(cluster.Primary);
        var hosts = string.Create(CultureInfo.InvariantCulture, $"{proxy.Address}:{proxy.Port},{cluster.Replicas[0].Address}:{cluster.Replicas[0].Port}");
        var connectionString = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Host = hosts }.ConnectionString;
        var builder = new ReplicatedDataSourceBuilder(connectionString);
        builder.Options.TopologyProbeInterval = TimeSpan.FromMilliseconds(200);
        builder.Options.StaleReadPolicy = StaleReadPolicy.Throw;
        builder.Options.MaxReadYourWritesWait = TimeSpan.FromMilliseconds(50);
        await using var dataSource = builder.Build();
        await dataSource.WaitForTopologyAsync(_ct);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        proxy.SetMode(ProxyMode.Latency, TimeSpan.FromMilliseconds(300));
        await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'mine')");

        var error = await Assert.ThrowsAsync<ReplicaNotCaughtUpException>(() => connection.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 1"));
        Assert.Contains("not captured", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SameRoundTrip_keeps_read_your_writes_under_lag()
    {
        var (_, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(30), b => b.Options.LsnCapture = LsnCaptureMode.SameRoundTrip);
        await using var _ = dataSource;
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'mine')");

        // The position is exact at once (no pending state): the replicas are known to be behind it.
        Assert.NotNull(connection.ConsistencySession.Token);
        Assert.Equal("mine", await connection.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 1"));
        Assert.Equal(RoutingReason.NotCaughtUp, connection.LastRoute!.Value.Reason);

        await using var stranger = await dataSource.OpenConnectionAsync(_ct);
        Assert.Null(await stranger.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 1"));
        Assert.Equal(HostRole.Replica, stranger.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task A_read_only_transaction_after_a_write_does_not_run_on_a_replica_that_lacks_it()
    {
        var (_, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(30));
        await using var _ = dataSource;
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'mine')");

        await using var transaction = await connection.BeginReadOnlyTransactionAsync(cancellationToken: _ct);
        Assert.Equal(HostRole.Primary, transaction.Role);
        Assert.Contains(connection.LastRoute!.Value.Reason, new[] { RoutingReason.PositionPending, RoutingReason.NotCaughtUp });
        Assert.Equal("mine", await connection.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 1", transaction: transaction));

        // With read preference Replica there is no replica that has it: a typed error, nothing run.
        await transaction.CommitAsync(_ct);
        await Assert.ThrowsAsync<ReplicaNotCaughtUpException>(async () =>
            await connection.BeginReadOnlyTransactionAsync(readPreference: ReadPreference.Replica, cancellationToken: _ct));
    }

    [Fact]
    public async Task A_session_shared_by_concurrent_connections_reads_every_write_acknowledged_before_the_read()
    {
        var (_, dataSource) = await LaggingClusterAsync(TimeSpan.FromMilliseconds(300));
        await using var _ = dataSource;
        var session = new ConsistencySession();
        var violations = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 4), _ct, async (pair, ct) =>
        {
            for (var i = 1; i <= 15; i++)
            {
                var key = (pair * 100) + i;
                await using (var writer = dataSource.CreateConnection(session))
                {
                    await writer.ExecuteAsync("INSERT INTO kv VALUES (@key, 'w')", new { key });
                }

                await using var reader = dataSource.CreateConnection(session);
                if (await reader.ExecuteScalarAsync<string?>("SELECT v FROM kv WHERE k = @key", new { key }) != "w")
                {
                    Interlocked.Increment(ref violations);
                }
            }
        });

        Assert.Equal(0, violations);
    }

    [Fact]
    public async Task A_session_that_read_a_replica_never_reads_older_after_that_replica_restarts()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text); INSERT INTO kv VALUES (5, 'old')", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var (ahead, behind) = (cluster.Replicas[0], cluster.Replicas[1]);
        await behind.ExecuteAsync("SELECT pg_wal_replay_pause()", _ct);
        await cluster.Primary.ExecuteAsync("UPDATE kv SET v = 'new' WHERE k = 5", _ct);
        await ahead.WaitForReplayAsync(await cluster.Primary.GetLsnAsync(_ct), TimeSpan.FromSeconds(30), _ct);

        // Long probe intervals: only the session's own marks and epochs keep it away from the paused replica.
        await using var dataSource = await CreateDataSourceAsync(cluster, b =>
        {
            b.Options.TopologyProbeInterval = TimeSpan.FromMinutes(5);
            b.Options.MaxProbeBackoff = TimeSpan.FromMinutes(5);
        });
        var session = new ConsistencySession();
        var sawNew = false;
        for (var i = 0; i < 10 && !sawNew; i++)
        {
            await using var connection = dataSource.CreateConnection(session);
            sawNew = await connection.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 5") == "new";
        }

        Assert.True(sawNew, "round robin never reached the replica that is ahead");
        await ahead.StopAsync(ShutdownMode.Immediate, _ct);
        await ahead.StartAsync(_ct);

        // The first probe finds the old probe connection broken; the next one sees the restart (a new epoch).
        await dataSource.RefreshTopologyAsync(_ct);
        await dataSource.RefreshTopologyAsync(_ct);
        for (var i = 0; i < 20; i++)
        {
            await using var connection = dataSource.CreateConnection(session);
            Assert.Equal("new", await connection.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 5"));
            Assert.NotEqual(behind.Port, NodePort(connection.LastRoute!.Value.Host));
        }
    }

    [Fact]
    public async Task A_hung_replica_leaves_the_read_set_and_reads_go_elsewhere()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        var hung = cluster.Replicas[0];
        var proxy = cluster.CreateProxy(hung);
        var hosts = string.Join(',', new[] { $"{cluster.Primary.Address}:{cluster.Primary.Port}", $"{proxy.Address}:{proxy.Port}", $"{cluster.Replicas[1].Address}:{cluster.Replicas[1].Port}" });
        var builder = new ReplicatedDataSourceBuilder(new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Host = hosts }.ConnectionString);
        builder.Options.TopologyProbeInterval = TimeSpan.FromMilliseconds(200);
        builder.Options.TopologyProbeTimeout = TimeSpan.FromMilliseconds(500);
        await using var dataSource = builder.Build();
        await dataSource.WaitForTopologyAsync(_ct);

        // No RST, no answer: only the probe's timeout can tell.
        proxy.SetMode(ProxyMode.Blackhole);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (dataSource.GetHosts().Single(h => h.Host.EndsWith($":{proxy.Port}", StringComparison.Ordinal)).Health != HostHealth.Unhealthy)
        {
            Assert.True(DateTime.UtcNow < deadline, "the blackholed replica was never marked unhealthy");
            await Task.Delay(50, _ct);
        }

        for (var i = 0; i < 10; i++)
        {
            await using var connection = await dataSource.OpenConnectionAsync(_ct);
            var (port, inRecovery) = await WhereAsync(connection);
            Assert.Equal(cluster.Replicas[1].Port, port);
            Assert.True(inRecovery);
        }
    }

    [Fact]
    public async Task PrimaryPreferred_reads_the_primary_and_a_replica_when_the_primary_is_gone()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.Options.DefaultReadPreference = ReadPreference.PrimaryPreferred);
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            Assert.Equal((cluster.Primary.Port, false), await WhereAsync(connection));
        }

        await cluster.Primary.StopAsync(ShutdownMode.Immediate, _ct);
        await dataSource.RefreshTopologyAsync(_ct);
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            Assert.Equal((cluster.Replicas[0].Port, true), await WhereAsync(connection));
        }
    }

    [Fact]
    public async Task Weighted_and_least_outstanding_balancing_spread_reads_end_to_end()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        var (heavy, light) = (cluster.Replicas[0], cluster.Replicas[1]);
        await using (var weighted = await CreateDataSourceAsync(cluster, b =>
        {
            b.Options.LoadBalancing = LoadBalancingStrategy.Weighted;
            b.Options.ReplicaWeights[$"{heavy.Address}:{heavy.Port}"] = 9;
            b.Options.ReplicaWeights[$"{light.Address}:{light.Port}"] = 1;
        }))
        {
            var counts = await CountReadsAsync(weighted, 300);
            Assert.True(counts.GetValueOrDefault(heavy.Port) > 200, Describe(counts));
            Assert.True(counts.GetValueOrDefault(light.Port) > 0, Describe(counts));
        }

        await using (var zero = await CreateDataSourceAsync(cluster, b =>
        {
            b.Options.LoadBalancing = LoadBalancingStrategy.Weighted;
            b.Options.ReplicaWeights[$"{light.Address}:{light.Port}"] = 0;
        }))
        {
            var counts = await CountReadsAsync(zero, 50);
            Assert.Equal(50, counts.GetValueOrDefault(heavy.Port));
        }

        await using var leastOutstanding = await CreateDataSourceAsync(cluster, b => b.Options.LoadBalancing = LoadBalancingStrategy.LeastOutstanding);
        var spread = await CountReadsAsync(leastOutstanding, 100, parallel: 8);
        Assert.True(spread.GetValueOrDefault(heavy.Port) > 10 && spread.GetValueOrDefault(light.Port) > 10, Describe(spread));
    }

    private static string Describe(Dictionary<int, int> counts) => string.Join(", ", counts.Select(c => $"{c.Key}: {c.Value}"));

    private static int NodePort(string host) => int.Parse(host[(host.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);

    private async Task<Dictionary<int, int>> CountReadsAsync(ReplicatedDataSource dataSource, int reads, int parallel = 1)
    {
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        await Parallel.ForEachAsync(Enumerable.Range(0, reads), new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = _ct }, async (_, ct) =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var (port, _) = await WhereAsync(connection);
            counts.AddOrUpdate(port, 1, (_, n) => n + 1);
        });
        return new Dictionary<int, int>(counts);
    }

    private async Task<(PostgresCluster Cluster, ReplicatedDataSource DataSource)> LaggingClusterAsync(TimeSpan delay, Action<ReplicatedDataSourceBuilder>? configure = null)
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(delay, _ct);
        }

        return (cluster, await CreateDataSourceAsync(cluster, configure));
    }
}
