using Dapper;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Failover;

/// <summary>
/// A host promoted since the last probe is still believed a replica: a write the classifier missed must not run there
/// and then again on the primary. Replica-read sessions run with default_transaction_read_only, so it cannot write.
/// </summary>
public sealed class StaleReplicaWriteTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_missed_write_sent_to_a_promoted_host_believed_a_replica_runs_exactly_once()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync(
            "CREATE TABLE kv (k int primary key, v text); CREATE TABLE hits (id int); CREATE FUNCTION hit() RETURNS int LANGUAGE sql AS $$ INSERT INTO hits VALUES (1); SELECT 1 $$;",
            _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var (oldPrimary, promoted) = (cluster.Primary, cluster.Replicas[0]);

        // 'hit' writes but is (wrongly) declared read-only; probes are rare, so the monitor keeps its old picture.
        await using var dataSource = await CreateDataSourceAsync(cluster, b =>
        {
            b.Options.ReadOnlyFunctions.Add("hit");
            b.Options.TopologyProbeInterval = TimeSpan.FromMinutes(5);
            b.Options.MaxProbeBackoff = TimeSpan.FromMinutes(5);
            b.Options.StaleReadPolicy = StaleReadPolicy.Wait;
        });
        await using var connection = dataSource.CreateConnection();
        await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'w')");

        // The standby is promoted behind the monitor's back (the old primary keeps running).
        await cluster.PromoteAsync(promoted, _ct);
        Assert.Equal(HostRole.Replica, dataSource.GetHosts().Single(h => h.Host.EndsWith($":{promoted.Port}", StringComparison.Ordinal)).Role);

        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT hit()"));

        // Once in all: never on the promoted host (its read session could not write), once on the believed primary.
        var onPromoted = await promoted.ExecuteScalarAsync<long>("SELECT count(*) FROM hits", _ct);
        var onOld = await oldPrimary.ExecuteScalarAsync<long>("SELECT count(*) FROM hits", _ct);
        Assert.Equal(0L, onPromoted);
        Assert.Equal(1L, onOld);
    }

    [Fact]
    public async Task Replica_read_sessions_are_read_only_and_primary_sessions_are_not()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = dataSource.CreateConnection();
        Assert.Equal("on", await connection.ExecuteScalarAsync<string>("SHOW default_transaction_read_only"));
        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
        Assert.Equal("off", await connection.ExecuteScalarAsync<string>("/* routing:primary */ SHOW default_transaction_read_only"));
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
    }
}
