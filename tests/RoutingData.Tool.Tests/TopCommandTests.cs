using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Spectre.Console.Testing;
using Xunit;

namespace RoutingData.Tool.Tests;

/// <summary><c>routingdata top</c> against a real cluster, run in-process through <see cref="Program.RunAsync"/>.</summary>
public sealed class TopCommandTests(ToolClusterFixture fixture) : ClusterTestBase, IClassFixture<ToolClusterFixture>
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    private PostgresCluster Cluster => UseShared(fixture.Cluster);

    [Fact]
    public async Task Json_names_the_primary_and_each_replica_with_its_role()
    {
        var cluster = Cluster;
        var run = await RunAsync("top", cluster.ConnectionString, "--json", "--interval", "300ms");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(string.Empty, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        var hosts = json.RootElement.GetProperty("hosts").EnumerateArray().ToList();
        Assert.Equal(3, hosts.Count);
        Assert.Equal("primary", Host(json, cluster.Primary).GetProperty("role").GetString());
        Assert.False(Host(json, cluster.Primary).GetProperty("takesReads").GetBoolean());
        foreach (var replica in cluster.Replicas)
        {
            Assert.Equal("replica", Host(json, replica).GetProperty("role").GetString());
            Assert.Equal("healthy", Host(json, replica).GetProperty("health").GetString());
            Assert.True(Host(json, replica).GetProperty("takesReads").GetBoolean());
        }

        Assert.All(hosts, h => Assert.Equal(1, h.GetProperty("timeline").GetInt32()));

        // Nothing else runs queries here: the tool's own sessions (its probes, its statistics query) are not traffic.
        Assert.All(hosts, h => Assert.Equal(0, h.GetProperty("traffic").GetDouble()));
        Assert.DoesNotContain("Password", json.RootElement.GetProperty("connection").GetString()!, StringComparison.OrdinalIgnoreCase);
        AssertNoPassword(run);
    }

    [Fact]
    public async Task A_lagging_replica_shows_its_lag_in_bytes_and_time()
    {
        var cluster = Cluster;
        var lagging = cluster.Replicas[0];
        await cluster.Primary.ExecuteAsync("CREATE TABLE IF NOT EXISTS lag_filler (payload text)", _ct);
        await lagging.SetReplayDelayAsync(TimeSpan.FromSeconds(30), _ct);
        try
        {
            var deadline = Stopwatch.StartNew();
            JsonElement seen;
            do
            {
                await cluster.Primary.ExecuteAsync("INSERT INTO lag_filler SELECT repeat('x', 100) FROM generate_series(1, 50)", _ct);
                // A fresh data source knows the primary's positions only since it started: a lag in time longer than
                // that shows as the time its history covers (a lower bound). An interval of 1 s covers more than 500 ms.
                var run = await RunAsync("top", cluster.ConnectionString, "--json", "--interval", "1s");
                Assert.Equal(0, run.ExitCode);
                using var json = JsonDocument.Parse(run.Output);
                seen = Host(json, lagging).Clone();
                if (seen.GetProperty("lagBytes").GetInt64() > 0 && seen.GetProperty("replayDelayMs").ValueKind == JsonValueKind.Number && seen.GetProperty("replayDelayMs").GetDouble() > 500)
                {
                    Assert.Equal("replica", seen.GetProperty("role").GetString());
                    var fresh = Host(json, cluster.Replicas[1]).GetProperty("replayDelayMs");
                    Assert.True(fresh.ValueKind == JsonValueKind.Null || fresh.GetDouble() < seen.GetProperty("replayDelayMs").GetDouble(), json.RootElement.ToString());
                    return;
                }
            }
            while (deadline.Elapsed < TimeSpan.FromSeconds(30));

            Assert.Fail($"the delayed replica never showed lag: {seen}");
        }
        finally
        {
            await lagging.SetReplayDelayAsync(TimeSpan.Zero, CancellationToken.None);
        }
    }

    [Fact]
    public async Task The_share_of_traffic_goes_to_the_host_that_serves_it_and_not_to_the_tools_own_queries()
    {
        var cluster = Cluster;
        var busy = cluster.Replicas[1];
        var queries = 0L;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        var load = Task.Run(async () =>
        {
            await using var connection = await busy.OpenConnectionAsync(stop.Token);
            while (!stop.IsCancellationRequested)
            {
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(stop.Token);
                Interlocked.Increment(ref queries);
            }
        }, stop.Token);

        try
        {
            var deadline = Stopwatch.StartNew();
            string last;
            do
            {
                var before = Interlocked.Read(ref queries);
                var run = await RunAsync("top", cluster.ConnectionString, "--json", "--interval", "2s");
                Assert.Equal(0, run.ExitCode);
                last = $"{Interlocked.Read(ref queries) - before} queries on {busy.Port} meanwhile; {run.Output}";
                using var json = JsonDocument.Parse(run.Output);
                var share = Host(json, busy).GetProperty("share");
                if (share.ValueKind == JsonValueKind.Number && share.GetDouble() > 0.8)
                {
                    Assert.True(Host(json, busy).GetProperty("traffic").GetDouble() > 0.5, last);
                    return;
                }
            }
            while (deadline.Elapsed < TimeSpan.FromSeconds(40));

            Assert.Fail($"the busy replica never had over 80% of the traffic: {last}");
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await load;
            }
            catch (OperationCanceledException)
            {
                // The load stopped mid-query.
            }
        }
    }

    [Fact]
    public async Task The_live_table_shows_each_host_and_its_role_and_never_the_password()
    {
        var cluster = Cluster;
        var console = new TestConsole().Width(200);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        var (output, error) = (new StringWriter(), new StringWriter());
        var run = Program.RunAsync(["top", cluster.ConnectionString, "--interval", "100ms"], console, output, error, stop.Token);

        // Redirected (not a terminal), the view prints a snapshot every five refreshes: wait for one, then stop.
        var deadline = Stopwatch.StartNew();
        while (!console.Output.Contains("replica", StringComparison.Ordinal) && !run.IsCompleted && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50, _ct);
        }

        await stop.CancelAsync();
        Assert.Equal(0, await run);
        var text = console.Output;
        foreach (var node in cluster.Nodes)
        {
            Assert.Contains($"{node.Address}:{node.Port}", text, StringComparison.Ordinal);
        }

        // The last snapshot's row of each host (the title names the hosts too, but not in a cell).
        string Row(PostgresNode node) => text.Split('\n').Last(l => l.Contains($"│ {node.Address}:{node.Port} ", StringComparison.Ordinal));
        Assert.Contains("primary", Row(cluster.Primary), StringComparison.Ordinal);
        Assert.All(cluster.Replicas, r => Assert.Contains("replica", Row(r), StringComparison.Ordinal));
        Assert.All(cluster.Nodes, n => Assert.Contains("healthy", Row(n), StringComparison.Ordinal));
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        Assert.DoesNotContain(cluster.Password!, text, StringComparison.Ordinal);
        Assert.DoesNotContain(cluster.Password!, output.ToString() + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_host_is_one_line_and_exit_code_1_without_the_password()
    {
        var run = await RunAsync("top", "Host=127.0.0.1;Port=1;Username=app;Password=hunter2-secret;Timeout=2", "--json");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(string.Empty, run.Output);
        var line = Assert.Single(run.Error.TrimEnd().Split('\n'));
        Assert.StartsWith("routingdata top: no host answered (127.0.0.1:1: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=db1;Prot=5432;Password=hunter2-secret", 2, "the connection string is not valid")]
    [InlineData("Host=db1;Port=notaport;Password=hunter2-secret", 2, "the connection string is not valid")]
    public async Task A_bad_connection_string_is_one_line_and_exit_code_2_without_the_password(string connectionString, int exitCode, string expected)
    {
        var run = await RunAsync("top", connectionString, "--json");

        Assert.Equal(exitCode, run.ExitCode);
        var line = Assert.Single(run.Error.TrimEnd().Split('\n'));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", run.Error + run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "top" }, "no connection string given")]
    [InlineData(new[] { "top", "Host=db1", "--interval", "soon" }, "--interval 'soon' is not a duration")]
    [InlineData(new[] { "top", "Host=db1", "--jsn" }, "unknown option '--jsn'")]
    [InlineData(new[] { "watch", "Host=db1" }, "unknown command 'watch'")]
    public async Task Bad_arguments_say_what_is_wrong_in_one_line_with_exit_code_2(string[] args, string expected)
    {
        var run = await RunAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, Assert.Single(run.Error.TrimEnd().Split('\n')), StringComparison.Ordinal);
    }

    private static JsonElement Host(JsonDocument json, PostgresNode node) =>
        json.RootElement.GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("host").GetString() == $"{node.Address}:{node.Port}");

    private void AssertNoPassword(Run run)
    {
        Assert.False(string.IsNullOrEmpty(Cluster.Password));
        Assert.DoesNotContain(Cluster.Password!, run.Output + run.Error, StringComparison.Ordinal);
    }

    private async Task<Run> RunAsync(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var exitCode = await Program.RunAsync(args, new TestConsole(), output, error, _ct);
        return new Run(exitCode, output.ToString(), error.ToString());
    }

    private sealed record Run(int ExitCode, string Output, string Error);
}
