using RoutingData.Testing.Xunit;
using Xunit;

namespace RoutingData.Testing.Tests;

/// <summary>Read-only checks on one shared cluster of a primary and two replicas.</summary>
public sealed class ReplicationTests(SharedClusterFixture fixture) : ClusterTestBase, IClassFixture<SharedClusterFixture>
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Replicas_are_hot_standbys_of_the_same_cluster()
    {
        var cluster = UseShared(fixture.Cluster);

        Assert.Equal(3, cluster.Nodes.Count);
        Assert.False(await cluster.Primary.IsInRecoveryAsync(_ct));
        var systemId = await cluster.Primary.GetSystemIdentifierAsync(_ct);
        foreach (var replica in cluster.Replicas)
        {
            Assert.True(await replica.IsInRecoveryAsync(_ct), $"{replica} should be in recovery");
            Assert.Equal(systemId, await replica.GetSystemIdentifierAsync(_ct));
            Assert.Equal(1, await replica.GetTimelineAsync(_ct));
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"Cluster start (1 primary + 2 replicas, streaming): {cluster.StartupDuration.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Replica_streams_a_committed_row()
    {
        var cluster = UseShared(fixture.Cluster);
        var table = "streamed_" + Guid.NewGuid().ToString("N")[..8];
        await cluster.Primary.ExecuteAsync($"CREATE TABLE {table} (id int primary key, note text); INSERT INTO {table} VALUES (42, 'committed')", _ct);
        var lsn = await cluster.Primary.GetLsnAsync(_ct);

        foreach (var replica in cluster.Replicas)
        {
            await replica.WaitForReplayAsync(lsn, TimeSpan.FromSeconds(30), _ct);
            Assert.Equal("committed", await replica.ExecuteScalarAsync<string>($"SELECT note FROM {table} WHERE id = 42", _ct));
        }
    }

    [Fact]
    public async Task Replica_rejects_writes()
    {
        var cluster = UseShared(fixture.Cluster);

        var error = await Assert.ThrowsAsync<Npgsql.PostgresException>(
            () => cluster.Replicas[0].ExecuteAsync("CREATE TABLE never_created (id int)", _ct));
        Assert.Equal("25006", error.SqlState);
    }

    [Fact]
    public async Task Multi_host_connection_string_names_every_node()
    {
        var cluster = UseShared(fixture.Cluster);
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(cluster.ConnectionString);

        foreach (var node in cluster.Nodes)
        {
            Assert.Contains($"{node.Address}:{node.Port}", builder.Host, StringComparison.Ordinal);
        }

        await using var dataSource = new Npgsql.NpgsqlDataSourceBuilder(cluster.ConnectionString).BuildMultiHost();
        await using var connection = await dataSource.OpenConnectionAsync(Npgsql.TargetSessionAttributes.Primary, _ct);
        await using var command = new Npgsql.NpgsqlCommand("SELECT inet_server_port()", connection);
        Assert.Equal(cluster.Primary.Port, (int)(await command.ExecuteScalarAsync(_ct))!);
    }
}
