using Dapper;
using Npgsql;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Routing;

/// <summary>
/// With every replica out, reads fall back to the primary but may hold only <see cref="ReplicatedDbOptions.MaxFallbackReadConnections"/>
/// of its connections: the next is shed at once, typed, and writes keep the rest of the pool.
/// </summary>
public sealed class FallbackSheddingTests(RoutingClusterFixture fixture) : ClusterTestBase, IClassFixture<RoutingClusterFixture>
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Reads_past_the_fallback_bound_are_shed_and_writes_keep_the_rest_of_the_pool()
    {
        var cluster = UseShared(fixture.Cluster);

        // Only the primary is configured: no replica can take a read, as when every replica is down or far behind.
        var primaryOnly = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Host = "127.0.0.1", Port = cluster.Primary.Port, MaxPoolSize = 4, Timeout = 3 };
        await using var dataSource = await CreateDataSourceAsync(primaryOnly.ConnectionString);
        await using var first = await dataSource.OpenConnectionAsync(_ct);
        await using var second = await dataSource.OpenConnectionAsync(_ct);
        Assert.Equal(1, await first.QuerySingleAsync<int>("SELECT 1"));
        Assert.Equal((HostRole.Primary, RoutingReason.NoHealthyReplica), (first.LastRoute!.Value.Role, first.LastRoute!.Value.Reason));
        Assert.Equal(1, await second.QuerySingleAsync<int>("SELECT 1"));

        // Half of Maximum Pool Size=4 is held by fallback reads: the third is shed before anything is sent.
        await using var third = await dataSource.OpenConnectionAsync(_ct);
        var shed = await Assert.ThrowsAsync<ReadsShedException>(() => third.QuerySingleAsync<int>("SELECT 1"));
        Assert.Contains("MaxFallbackReadConnections", shed.Message, StringComparison.Ordinal);
        Assert.Contains("2 of its connections", shed.Message, StringComparison.Ordinal);
        Assert.True(third.LastRoute!.Value.Failed);
        if (cluster.Password is { } password)
        {
            Assert.DoesNotContain(password, shed.Message, StringComparison.Ordinal);
        }

        // Writes still get connections; a read on a connection that already holds a primary connection is not shed.
        await using (var writer = await dataSource.OpenConnectionAsync(_ct))
        {
            await writer.ExecuteAsync("CREATE TABLE IF NOT EXISTS shed_probe (x int); INSERT INTO shed_probe VALUES (1)");
            Assert.Equal(RoutingReason.ClassifiedWrite, writer.LastRoute!.Value.Reason);
            Assert.Equal(1, await writer.QuerySingleAsync<int>("SELECT 1"));
            Assert.Equal(HostRole.Primary, writer.LastRoute!.Value.Role);
        }

        Assert.Equal(1, await first.QuerySingleAsync<int>("SELECT 2 - 1"));
        Assert.Equal(RoutingReason.NoHealthyReplica, first.LastRoute!.Value.Reason);

        // Nor is a read that asks for the primary: it is no fallback.
        await using (var command = third.CreateCommand())
        {
            command.CommandText = "SELECT 1";
            command.ReadPreference = ReadPreference.Primary;
            Assert.Equal(1, await command.ExecuteScalarAsync(_ct));
            Assert.Equal(RoutingReason.ReadPreference, command.LastRoute!.Value.Reason);
        }

        // Closing a fallback reader frees its connection for the next fallback read.
        await first.CloseAsync();
        await using var fourth = await dataSource.OpenConnectionAsync(_ct);
        Assert.Equal(1, await fourth.QuerySingleAsync<int>("SELECT 1"));
        Assert.Equal(RoutingReason.NoHealthyReplica, fourth.LastRoute!.Value.Reason);
    }
}
