using Dapper;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Topology;

/// <summary><see cref="HostStatus.CommandsRouted"/>: each host's count of the commands sent to it, and nothing else.</summary>
public sealed class CommandsRoutedTests(RoutingClusterFixture fixture) : ClusterTestBase, IClassFixture<RoutingClusterFixture>
{
    [Fact]
    public async Task Each_host_counts_the_commands_routed_to_it_and_not_the_probes()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.Options.ReadYourWrites = false);
        var before = dataSource.GetHosts().ToDictionary(h => h.Host, h => h.CommandsRouted);
        Assert.All(before.Values, count => Assert.Equal(0, count));

        var servedBy = new Dictionary<string, long>();
        for (var i = 0; i < 20; i++)
        {
            await using var connection = dataSource.CreateConnection();
            await connection.ExecuteAsync(i % 4 == 0 ? "CREATE TEMP TABLE IF NOT EXISTS t (x int)" : "SELECT 1");
            var host = connection.LastRoute!.Value.Host;
            servedBy[host] = servedBy.GetValueOrDefault(host) + 1;
        }

        // Probes kept running meanwhile (every 200 ms): they are not commands, so the counts match exactly.
        await dataSource.RefreshTopologyAsync(TestContext.Current.CancellationToken);
        var after = dataSource.GetHosts().ToDictionary(h => h.Host, h => h.CommandsRouted);
        Assert.Equal(20, after.Values.Sum());
        foreach (var (host, count) in after)
        {
            Assert.Equal(servedBy.GetValueOrDefault(host), count);
        }

        Assert.True(after[$"{cluster.Primary.Address}:{cluster.Primary.Port}"] >= 5);
    }
}
