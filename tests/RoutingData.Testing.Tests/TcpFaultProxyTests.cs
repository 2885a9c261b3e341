using System.Diagnostics;
using Npgsql;
using RoutingData.Testing.Faults;
using RoutingData.Testing.Xunit;
using Xunit;

namespace RoutingData.Testing.Tests;

public sealed class SingleNodeFixture : SharedClusterFixture
{
    protected override PostgresClusterOptions CreateOptions() => new() { Replicas = 0 };
}

public sealed class TcpFaultProxyTests(SingleNodeFixture fixture) : ClusterTestBase, IClassFixture<SingleNodeFixture>
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Pass_mode_forwards_to_the_node()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var proxy = cluster.CreateProxy(cluster.Primary);

        await using var connection = await OpenAsync(proxy, timeoutSeconds: 5);
        Assert.Equal(cluster.Primary.Port, await ScalarAsync<int>(connection, "SELECT inet_server_port()"));
    }

    [Fact]
    public async Task Blackhole_makes_a_connect_with_a_short_timeout_fail_and_hangs_open_connections()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var proxy = cluster.CreateProxy(cluster.Primary);
        await using var open = await OpenAsync(proxy, timeoutSeconds: 5);

        proxy.SetMode(ProxyMode.Blackhole);

        var connectError = await Assert.ThrowsAnyAsync<Exception>(() => OpenAsync(proxy, timeoutSeconds: 1));
        Assert.True(connectError is NpgsqlException or TimeoutException, $"Unexpected {connectError.GetType()}: {connectError.Message}");
        Assert.Contains("timeout", connectError.ToString(), StringComparison.OrdinalIgnoreCase);

        await using var command = new NpgsqlCommand("SELECT 1", open) { CommandTimeout = 1 };
        var commandError = await Assert.ThrowsAnyAsync<Exception>(() => command.ExecuteScalarAsync(_ct));
        Assert.Contains("timeout", commandError.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Latency_mode_adds_the_latency_in_each_direction()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var proxy = cluster.CreateProxy(cluster.Primary);
        await using var connection = await OpenAsync(proxy, timeoutSeconds: 5);
        var passRoundTrip = await RoundTripAsync(connection);

        var latency = TimeSpan.FromMilliseconds(150);
        proxy.SetMode(ProxyMode.Latency, latency);
        var slowRoundTrip = await RoundTripAsync(connection);

        Assert.True(slowRoundTrip >= 2 * latency, $"Round trip with {latency.TotalMilliseconds} ms latency each way took {slowRoundTrip.TotalMilliseconds:0} ms.");
        Assert.True(slowRoundTrip > passRoundTrip, $"Pass {passRoundTrip.TotalMilliseconds:0.0} ms, latency {slowRoundTrip.TotalMilliseconds:0.0} ms.");

        proxy.SetMode(ProxyMode.Pass);
        Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
    }

    [Fact]
    public async Task Reset_mode_breaks_open_connections_and_refuses_new_ones()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var proxy = cluster.CreateProxy(cluster.Primary);
        await using var open = await OpenAsync(proxy, timeoutSeconds: 5);
        Assert.Equal(1, proxy.OpenConnections);

        proxy.SetMode(ProxyMode.Reset);

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => ScalarAsync<int>(open, "SELECT 1"));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => OpenAsync(proxy, timeoutSeconds: 5));
    }

    [Fact]
    public async Task Refusing_new_connections_resets_them_and_counts_them_while_open_ones_still_get_answers()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var proxy = cluster.CreateProxy(cluster.Primary);
        await using var open = await OpenAsync(proxy, timeoutSeconds: 5);

        proxy.RefuseNewConnections = true;

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => OpenAsync(proxy, timeoutSeconds: 5));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => OpenAsync(proxy, timeoutSeconds: 5));
        Assert.Equal(2, proxy.RefusedConnections);
        Assert.Equal(1, await ScalarAsync<int>(open, "SELECT 1"));

        // Open connections keep to the mode: latency still applies to them.
        proxy.SetMode(ProxyMode.Latency, TimeSpan.FromMilliseconds(150));
        Assert.True(await RoundTripAsync(open) >= TimeSpan.FromMilliseconds(300));

        proxy.RefuseNewConnections = false;
        proxy.SetMode(ProxyMode.Pass);
        await using var again = await OpenAsync(proxy, timeoutSeconds: 5);
        Assert.Equal(1, await ScalarAsync<int>(again, "SELECT 1"));
        Assert.Equal(2, proxy.RefusedConnections);
    }

    [Fact]
    public async Task Latency_mode_without_a_latency_is_rejected()
    {
        await using var proxy = TcpFaultProxy.Start("127.0.0.1", 9);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => proxy.SetMode(ProxyMode.Latency));
        Assert.Equal("latency", error.ParamName);
        Assert.Equal(ProxyMode.Pass, proxy.Mode);
    }

    private async Task<NpgsqlConnection> OpenAsync(TcpFaultProxy proxy, int timeoutSeconds)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder
        {
            Host = proxy.Address,
            Port = proxy.Port,
            Username = "postgres",
            Database = "postgres",
            Pooling = false,
            Timeout = timeoutSeconds,
            GssEncryptionMode = GssEncryptionMode.Disable, // Else a refused open is tried again without it: two connections.
        }.ConnectionString);
        try
        {
            await connection.OpenAsync(_ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(_ct))!;
    }

    private async Task<TimeSpan> RoundTripAsync(NpgsqlConnection connection)
    {
        // The median of five, so one scheduling hiccup does not decide the comparison.
        var samples = new List<TimeSpan>();
        for (var i = 0; i < 5; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            await ScalarAsync<int>(connection, "SELECT 1");
            samples.Add(stopwatch.Elapsed);
        }

        samples.Sort();
        return samples[2];
    }
}
