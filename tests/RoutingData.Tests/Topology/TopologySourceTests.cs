using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using RoutingData.Topology;
using Xunit;

namespace RoutingData.Tests.Topology;

/// <summary>
/// What a topology source says is a hint the probes confirm: another leader makes the monitor probe at once, routing
/// follows the probes only, and a source that fails is logged and left out. Sources here are fakes polled by hand (their
/// own loop waits an hour), over the shared routing cluster.
/// </summary>
public sealed class TopologySourceTests(RoutingClusterFixture fixture) : ClusterTestBase, IClassFixture<RoutingClusterFixture>
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_source_naming_another_leader_makes_the_monitor_probe_at_once_but_writes_follow_the_probes()
    {
        var cluster = UseShared(fixture.Cluster);
        var source = new FakeSource();
        source.Leader(cluster.Primary, cluster);
        using var logs = new LogCapture();
        using var loggerFactory = logs.CreateFactory();
        await using var dataSource = await CreateAsync(cluster, source, loggerFactory);
        var monitor = dataSource.Monitor;
        await monitor.Sources!.PollAsync(0, _ct);
        var before = monitor.Snapshot;
        Assert.False(monitor.IsProbingFast);

        // The source names a replica as leader: no regular round is due for ten minutes, yet one runs at once.
        var replica = cluster.Replicas[0];
        source.Leader(replica, cluster);
        var clock = Stopwatch.StartNew();
        await monitor.Sources.PollAsync(0, _ct);
        await WaitUntilAsync(() => monitor.Snapshot != before, "a probe round after the source's report");
        TestContext.Current.TestOutputHelper?.WriteLine($"report → new snapshot: {clock.Elapsed.TotalMilliseconds:0} ms");

        // The probes still find the same primary, and writes go there: the source's word alone moves nothing.
        Assert.Equal(cluster.Primary.Port, monitor.Snapshot.Primary?.Host.Endpoint.Port);
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            Assert.False(await connection.ExecuteScalarAsync<bool>("CREATE TEMP TABLE IF NOT EXISTS x (i int); SELECT pg_is_in_recovery()"));
        }

        Assert.Contains(logs.Entries, l => l.EventId == RoutingDataEventId.TopologySourceReported
            && l.Text.StartsWith($"Fake says the leader is 127.0.0.1:{replica.Port} (timeline 1); the probes see 127.0.0.1:{cluster.Primary.Port} as the primary: probing every host now", StringComparison.Ordinal));
        Assert.Contains($"Fake says the leader is 127.0.0.1:{replica.Port}", monitor.Snapshot.Describe(), StringComparison.Ordinal);
        var hosts = dataSource.GetHosts();
        Assert.Equal("Fake: leader, running, timeline 1", hosts.Single(h => h.Host.EndsWith($":{replica.Port}", StringComparison.Ordinal)).SourceReport);
        Assert.Equal(HostRole.Replica, hosts.Single(h => h.Host.EndsWith($":{replica.Port}", StringComparison.Ordinal)).Role);

        // No leader at all: probed at once again.
        var confirmed = monitor.Snapshot;
        source.Members = [];
        await monitor.Sources.PollAsync(0, _ct);
        await WaitUntilAsync(() => monitor.Snapshot != confirmed, "a probe round after 'no leader'");
        Assert.Contains("Fake says there is no leader", monitor.Snapshot.Describe(), StringComparison.Ordinal);
        Assert.Equal("Fake does not list it", dataSource.GetHosts()[0].SourceReport);
    }

    [Fact]
    public async Task A_source_that_agrees_with_the_probes_adds_no_probe_round()
    {
        var cluster = UseShared(fixture.Cluster);
        var source = new FakeSource();
        source.Leader(cluster.Primary, cluster);
        await using var dataSource = await CreateAsync(cluster, source);
        var monitor = dataSource.Monitor;
        await monitor.Sources!.PollAsync(0, _ct);
        var before = monitor.Snapshot;

        for (var i = 0; i < 5; i++)
        {
            await monitor.Sources.PollAsync(0, _ct);
        }

        // Rounds publish a new snapshot; the ten-minute interval leaves none due, so the same one stays.
        Assert.Same(before, monitor.Snapshot);
        Assert.False(monitor.IsProbingFast);
    }

    [Fact]
    public async Task A_failing_source_is_logged_once_as_a_warning_and_probing_goes_on()
    {
        var cluster = UseShared(fixture.Cluster);
        var source = new FakeSource { Failure = new InvalidOperationException("the API said 503") };
        using var logs = new LogCapture();
        using var loggerFactory = logs.CreateFactory();
        await using var dataSource = await CreateAsync(cluster, source, loggerFactory);

        // The loop polls once by itself after the first probe round: let that one finish (and log) before polling by hand,
        // or two polls race on the failure count.
        await WaitUntilAsync(() => logs.Entries.Any(l => l.EventId == RoutingDataEventId.TopologySourceFailed), "the loop's own first poll to fail");
        for (var i = 0; i < 3; i++)
        {
            await dataSource.Monitor.Sources!.PollAsync(0, _ct);
        }

        var failures = logs.Entries.Where(l => l.EventId == RoutingDataEventId.TopologySourceFailed).ToList();
        Assert.True(failures.Count >= 3, string.Join("\n", failures));
        Assert.Equal(LogLevel.Warning, failures[0].Level);
        Assert.All(failures.Skip(1), f => Assert.Equal(LogLevel.Debug, f.Level));
        Assert.StartsWith("Topology source Fake failed (1 in a row); probing goes on without it: the API said 503", failures[0].Text, StringComparison.Ordinal);

        // Routing is untouched, and the hosts say what the source did.
        await dataSource.RefreshTopologyAsync(_ct);
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT pg_is_in_recovery()"));
        }

        Assert.Contains("Fake did not answer (the API said 503)", dataSource.Monitor.Snapshot.Describe(), StringComparison.Ordinal);
        Assert.All(dataSource.GetHosts(), h => Assert.Equal("Fake has not answered", h.SourceReport));

        // Back again: what it says is logged anew.
        source.Failure = null;
        source.Leader(cluster.Primary, cluster);
        await dataSource.Monitor.Sources!.PollAsync(0, _ct);
        Assert.Contains(logs.Entries, l => l.EventId == RoutingDataEventId.TopologySourceReported && l.Text.StartsWith($"Fake says the leader is 127.0.0.1:{cluster.Primary.Port} (timeline 1); the probes agree", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Credentials_in_a_Patroni_endpoint_never_reach_logs_messages_or_host_status()
    {
        var cluster = UseShared(fixture.Cluster);
        using var logs = new LogCapture();
        using var loggerFactory = logs.CreateFactory();
        var builder = new ReplicatedDataSourceBuilder(cluster.ConnectionString).UseLoggerFactory(loggerFactory)
            .UsePatroni(new Uri($"http://patroni:Pw4Patroni@127.0.0.1:{ClosedPort()}/"), new Uri($"http://patroni:Pw4Patroni@127.0.0.1:{ClosedPort()}/"));
        builder.Options.TopologySourcePollInterval = TimeSpan.FromHours(1);
        await using var dataSource = builder.Build();
        await dataSource.WaitForTopologyAsync(_ct);
        // The report is published before the poll logs: wait for the whole poll.
        await WaitUntilAsync(() => dataSource.Monitor.Sources!.PollsCompleted > 0, "the first poll to finish");
        await dataSource.RefreshTopologyAsync(_ct);

        var failure = Assert.Single(logs.Entries, l => l.EventId == RoutingDataEventId.TopologySourceFailed && l.Level == LogLevel.Warning);
        Assert.Contains("No Patroni endpoint gave a usable answer: http://127.0.0.1:", failure.Text, StringComparison.Ordinal);
        var text = string.Join("\n", logs.AllText(), dataSource.Monitor.Snapshot.Describe(), string.Join("\n", dataSource.GetHosts()), dataSource.ConnectionString);
        Assert.DoesNotContain("Pw4Patroni", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String("patroni:Pw4Patroni"u8), text, StringComparison.Ordinal);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT true"));
    }

    [Fact]
    public async Task Sources_registered_in_the_container_are_polled()
    {
        var cluster = UseShared(fixture.Cluster);
        var source = new FakeSource();
        source.Leader(cluster.Primary, cluster);
        var services = new ServiceCollection().AddSingleton<ITopologySource>(source);
        services.AddReplicatedDb(cluster.ConnectionString);
        await using var provider = services.BuildServiceProvider();

        var dataSource = provider.GetRequiredService<ReplicatedDataSource>();
        await dataSource.WaitForTopologyAsync(_ct);
        await WaitUntilAsync(() => source.Polls > 0, "the registered source to be polled");
    }

    private static async Task<ReplicatedDataSource> CreateAsync(PostgresCluster cluster, ITopologySource source, ILoggerFactory? loggerFactory = null)
    {
        var builder = new ReplicatedDataSourceBuilder(cluster.ConnectionString).UseTopologySource(source);
        if (loggerFactory is not null)
        {
            builder.UseLoggerFactory(loggerFactory);
        }

        // No regular round and no poll of the source's own falls due during a test: every round here is one a report asked for.
        builder.Options.TopologyProbeInterval = TimeSpan.FromMinutes(10);
        builder.Options.MaxProbeBackoff = TimeSpan.FromMinutes(10);
        builder.Options.TopologySourcePollInterval = TimeSpan.FromHours(1);
        var dataSource = builder.Build();
        await dataSource.WaitForTopologyAsync(TestContext.Current.CancellationToken);

        // The source's own loop polls once after the first round, then sleeps: the tests poll by hand after that.
        await WaitUntilAsync(() => dataSource.Monitor.Sources!.PollsCompleted > 0, "the source's first poll to finish");
        return dataSource;
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"Timed out waiting for {what}.");
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }

    private sealed class FakeSource : ITopologySource
    {
        private int _polls;

        public string Name => "Fake";

        public IReadOnlyList<TopologyMember> Members { get; set; } = [];

        public Exception? Failure { get; set; }

        public int Polls => Volatile.Read(ref _polls);

        public void Leader(PostgresNode leader, PostgresCluster cluster) =>
            Members = cluster.Nodes.Select(n => new TopologyMember(n.Address, n.Port, n == leader ? HostRole.Primary : HostRole.Replica) { Timeline = 1 }).ToList();

        public ValueTask<IReadOnlyList<TopologyMember>> GetMembersAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _polls);
            return Failure is { } failure ? ValueTask.FromException<IReadOnlyList<TopologyMember>>(failure) : ValueTask.FromResult(Members);
        }
    }
}
