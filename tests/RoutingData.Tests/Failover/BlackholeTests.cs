using Dapper;
using Npgsql;
using RoutingData.Testing;
using RoutingData.Testing.Faults;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Failover;

/// <summary>
/// A host that goes silent (no RST, no answer: a dead switch port, a frozen VM) never holds a caller for its own
/// timeouts: once the monitor gives it up, the commands and connection attempts in flight there are abandoned, reads
/// move on, writes get their typed outcome. The command timeout is a minute here, so only abandonment can end them.
/// </summary>
public sealed class BlackholeTests : ClusterTestBase
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_read_in_flight_on_a_replica_that_goes_silent_runs_again_elsewhere()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        var proxy = cluster.CreateProxy(cluster.Replicas[0]);
        await using var dataSource = await BuildAsync(cluster, primary: Direct(cluster.Primary), replica: $"{proxy.Address}:{proxy.Port}");
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT pg_is_in_recovery()")); // Through the proxy.

        var read = connection.ExecuteScalarAsync<int>("SELECT 42 FROM pg_sleep(0.5)");
        await WaitUntilActiveAsync(cluster.Replicas[0], "pg_sleep(0.5)");
        proxy.SetMode(ProxyMode.Blackhole);
        var silentFor = System.Diagnostics.Stopwatch.StartNew();

        Assert.Equal(42, await read.WaitAsync(Guard, _ct));
        TestContext.Current.TestOutputHelper?.WriteLine($"The read moved on {silentFor.ElapsedMilliseconds} ms after its replica went silent.");
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
        Assert.Equal(RoutingReason.HostFailureRetry, connection.LastRoute!.Value.Reason);
    }

    [Fact]
    public async Task A_write_in_flight_on_a_primary_that_goes_silent_ends_as_an_unknown_outcome_and_later_writes_are_not_held()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int)", _ct);
        var proxy = cluster.CreateProxy(cluster.Primary);
        await using var dataSource = await BuildAsync(cluster, primary: $"{proxy.Address}:{proxy.Port}", replica: Direct(cluster.Replicas[0]));
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await connection.ExecuteAsync("INSERT INTO t VALUES (0)");

        var write = connection.ExecuteAsync("INSERT INTO t SELECT 1 FROM pg_sleep(0.5)");
        await WaitUntilActiveAsync(cluster.Primary, "pg_sleep(0.5)");
        proxy.SetMode(ProxyMode.Blackhole);
        var silentFor = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<CommandOutcomeUnknownException>(() => write.WaitAsync(Guard, _ct));
        TestContext.Current.TestOutputHelper?.WriteLine($"The write ended {silentFor.ElapsedMilliseconds} ms after its primary went silent.");
        Assert.Contains("stopped answering", error.InnerException!.Message, StringComparison.Ordinal);

        // No primary answers: a new write waits the configured bound for one, then fails — it is not held for a connect timeout.
        await using (var another = await dataSource.OpenConnectionAsync(_ct))
        {
            await Assert.ThrowsAsync<NoSuitableHostException>(() => another.ExecuteAsync("INSERT INTO t VALUES (2)").WaitAsync(Guard, _ct));
        }

        // The host answers again: writes resume once a probe hears from it.
        proxy.SetMode(ProxyMode.Pass);
        var deadline = DateTime.UtcNow + Guard;
        while (true)
        {
            try
            {
                await using var again = await dataSource.OpenConnectionAsync(_ct);
                await again.ExecuteAsync("INSERT INTO t VALUES (3)");
                break;
            }
            catch (NoSuitableHostException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, _ct);
            }
        }

        Assert.Equal(1L, await cluster.Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM t WHERE id = 3", _ct));
    }

    [Fact]
    public async Task A_connection_attempt_to_a_silent_replica_is_abandoned_and_the_read_goes_elsewhere()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        var proxy = cluster.CreateProxy(cluster.Replicas[0]);
        await using var dataSource = await BuildAsync(cluster, primary: Direct(cluster.Primary), replica: $"{proxy.Address}:{proxy.Port}");

        // Silent before any pooled connection exists: the read's connection attempt is accepted and never answered.
        proxy.SetMode(ProxyMode.Blackhole);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        connection.ReadPreference = ReadPreference.ReplicaPreferred;

        Assert.Equal(7, await connection.ExecuteScalarAsync<int>("SELECT 7").WaitAsync(Guard, _ct));
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
        var replica = dataSource.GetHosts().Single(h => h.Host.EndsWith($":{proxy.Port}", StringComparison.Ordinal));
        Assert.Equal(HostHealth.Unhealthy, replica.Health);

        // Later reads do not try it again while it is silent: each goes straight to the primary.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(7, await connection.ExecuteScalarAsync<int>("SELECT 7").WaitAsync(TimeSpan.FromSeconds(5), _ct));
            Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
        }
    }

    private async Task<ReplicatedDataSource> BuildAsync(PostgresCluster cluster, string primary, string replica)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Host = $"{primary},{replica}", CommandTimeout = 60, Timeout = 3 }.ConnectionString;
        var builder = new ReplicatedDataSourceBuilder(connectionString);
        builder.Options.TopologyProbeInterval = TimeSpan.FromMilliseconds(200);
        builder.Options.TopologyProbeTimeout = TimeSpan.FromMilliseconds(500);
        builder.Options.MaxWaitForPrimary = TimeSpan.FromSeconds(1);
        var dataSource = builder.Build();
        await dataSource.WaitForTopologyAsync(_ct);
        return dataSource;
    }

    private async Task WaitUntilActiveAsync(PostgresNode node, string fragment)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await node.ExecuteScalarAsync<bool>($"SELECT count(*) > 0 FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{fragment}%' AND pid <> pg_backend_pid()", _ct))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{node.Name} never ran a query containing '{fragment}'.");
            await Task.Delay(10, _ct);
        }
    }
}
