using System.Data.Common;
using Dapper;
using RoutingData.Testing;
using Xunit;

namespace RoutingData.Tests;

internal static class RoutingTestHelpers
{
    /// <summary>A data source over a cluster with fast probes, ready (first probe done).</summary>
    public static Task<ReplicatedDataSource> CreateDataSourceAsync(PostgresCluster cluster, Action<ReplicatedDataSourceBuilder>? configure = null) =>
        CreateDataSourceAsync(cluster.ConnectionString, configure);

    /// <summary>A data source over some of a cluster's hosts (or as another user) with fast probes, ready (first probe done).</summary>
    public static async Task<ReplicatedDataSource> CreateDataSourceAsync(string connectionString, Action<ReplicatedDataSourceBuilder>? configure = null)
    {
        var builder = new ReplicatedDataSourceBuilder(connectionString);
        builder.Options.TopologyProbeInterval = TimeSpan.FromMilliseconds(200);
        builder.Options.TopologyProbeTimeout = TimeSpan.FromSeconds(2);
        configure?.Invoke(builder);
        var dataSource = builder.Build();
        await dataSource.WaitForTopologyAsync(TestContext.Current.CancellationToken);
        return dataSource;
    }

    /// <summary>Where a statement really ran: the server's own port and recovery state.</summary>
    public static async Task<(int Port, bool InRecovery)> WhereAsync(DbConnection connection, string? hint = null)
    {
        var row = await connection.QuerySingleAsync<(int, bool)>(hint + "SELECT inet_server_port(), pg_is_in_recovery()");
        return row;
    }

    /// <summary>Waits until every replica has replayed the session's position, so its reads may go to replicas again.</summary>
    public static async Task WaitForSessionAsync(PostgresCluster cluster, ReplicatedDataSource dataSource, ConsistencySession session)
    {
        if (await dataSource.GetSessionTokenAsync(session, TestContext.Current.CancellationToken) is not { } token)
        {
            return;
        }

        foreach (var replica in cluster.Replicas)
        {
            await replica.WaitForReplayAsync(token.Lsn, TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test after 30 seconds, naming <paramref name="what"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    public static PostgresNode NodeOnPort(PostgresCluster cluster, int port) =>
        cluster.Nodes.Single(n => n.Port == port);

    /// <summary>The node's own <c>host:port</c>, for a host list that mixes direct hosts with proxies.</summary>
    public static string Direct(PostgresNode node) => $"{node.Address}:{node.Port}";
}
