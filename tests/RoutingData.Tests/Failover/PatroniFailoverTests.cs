using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Dapper;
using Npgsql;
using RoutingData.Testing.Patroni;
using RoutingData.Tests.Topology;
using RoutingData.Topology.Sources;
using Xunit;

namespace RoutingData.Tests.Failover;

/// <summary>
/// A real Patroni 3 cluster (etcd, three nodes) loses its leader — SIGKILL to the leader's Patroni and postmaster —
/// under a steady write loop and a read loop; Patroni fails over by itself. RoutingData follows it by probing alone,
/// and with the Patroni topology source; an idle data source beside each measures how soon the new leader is seen
/// with no traffic at all. The timings are printed, not asserted: they depend on the machine.
/// </summary>
[Collection(nameof(SharedPatroniCluster))]
public sealed class PatroniFailoverTests(PatroniClusterFixture fixture) : IAsyncLifetime
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;
    private PatroniCluster? _cluster;

    public ValueTask InitializeAsync() => default;

    public ValueTask DisposeAsync()
    {
        if (TestContext.Current.TestState?.Result == TestResult.Failed && _cluster is not null)
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"Logs of the Patroni cluster are kept in {_cluster.PreserveLogs()}");
        }

        return default;
    }

    [Fact]
    public Task Leader_kill_is_followed_by_probing_alone() => FollowLeaderKillAsync(withSource: false);

    [Fact]
    public Task Leader_kill_is_followed_with_the_Patroni_source_and_seen_without_traffic() => FollowLeaderKillAsync(withSource: true);

    [Fact]
    public async Task The_source_reads_the_live_cluster_and_skips_a_dead_first_endpoint()
    {
        var cluster = _cluster = fixture.Require();
        var leader = await cluster.WaitForHealthyAsync(cancellationToken: _ct);
        using var dead = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        dead.Start();
        var deadPort = ((System.Net.IPEndPoint)dead.LocalEndpoint).Port;
        dead.Stop(); // Nothing listens there now: connection refused.

        using var source = new PatroniTopologySource([new Uri($"http://127.0.0.1:{deadPort}/"), .. cluster.RestEndpoints], TimeSpan.FromSeconds(2));
        var members = await source.GetMembersAsync(_ct);
        Assert.Equal(cluster.Nodes.Count, members.Count);
        var claimed = Assert.Single(members, m => m.Role == HostRole.Primary);
        Assert.Equal((leader.Address, leader.Port, leader.Name), (claimed.Host, claimed.Port, claimed.Name));
        Assert.All(members, m => Assert.True(m.IsRunning, m.ToString()));

        await using var dataSource = new ReplicatedDataSourceBuilder(cluster.ConnectionString)
            .UsePatroni(new Uri($"http://127.0.0.1:{deadPort}/"), cluster.RestEndpoints[0])
            .Build();
        await dataSource.WaitForTopologyAsync(_ct);
        await WaitUntilAsync(() => dataSource.Monitor.Snapshot.SourceReports.Count == 1 && dataSource.Monitor.Snapshot.SourceReports[0].HasAnswered, "the first report in a snapshot");
        var description = dataSource.Monitor.Snapshot.Describe();
        Assert.Contains($"Patroni says the leader is {leader.Address}:{leader.Port} ({leader.Name}", description, StringComparison.Ordinal);
        var leaderStatus = dataSource.GetHosts().Single(h => h.Host == $"{leader.Address}:{leader.Port}");
        Assert.Equal(HostRole.Primary, leaderStatus.Role);
        Assert.StartsWith("Patroni: leader, running, timeline ", leaderStatus.SourceReport, StringComparison.Ordinal);
        TestContext.Current.TestOutputHelper?.WriteLine(description);
        TestContext.Current.TestOutputHelper?.WriteLine(await cluster.GetClusterJsonAsync(_ct));
    }

    private async Task FollowLeaderKillAsync(bool withSource)
    {
        var cluster = _cluster = fixture.Require();
        var oldLeader = await cluster.WaitForHealthyAsync(cancellationToken: _ct);
        var oldPort = oldLeader.Port;
        var table = "patroni_" + Guid.NewGuid().ToString("N")[..8];
        await oldLeader.ExecuteAsync($"CREATE TABLE {table} (id bigint PRIMARY KEY, port int NOT NULL)", _ct);

        using var logs = new LogCapture();
        using var loggerFactory = logs.CreateFactory();
        ReplicatedDataSource Build()
        {
            var builder = new ReplicatedDataSourceBuilder(cluster.ConnectionString).UseLoggerFactory(loggerFactory);
            builder.Options.MaxWaitForPrimary = TimeSpan.FromSeconds(30); // Writes in the gap wait for Patroni's failover.
            builder.Options.MaxProbeBackoff = TimeSpan.FromSeconds(2); // The returning node is probed soon after it is back.
            if (withSource)
            {
                builder.UsePatroni([.. cluster.RestEndpoints]);
                builder.Options.TopologySourcePollInterval = TimeSpan.FromMilliseconds(250);
            }

            return builder.Build();
        }

        await using var busy = Build();
        await using var idle = Build();
        await busy.WaitForTopologyAsync(_ct);
        await idle.WaitForTopologyAsync(_ct);

        var clock = Stopwatch.StartNew();
        // Each command's start (before it is routed) and end (after its answer was seen, maybe a little late: the
        // machine is shared). A claim about where a command may run is checked against the side that makes it sound.
        var writes = new ConcurrentQueue<(int Port, TimeSpan Start, TimeSpan End)>();
        var reads = new ConcurrentQueue<(int Port, bool InRecovery, TimeSpan Start, TimeSpan End)>();
        var failures = new ConcurrentQueue<(bool Write, Exception Error, TimeSpan Start, TimeSpan End)>();
        using var stop = new CancellationTokenSource();
        var nextId = 0L;
        var writer = Task.Run(() => LoopAsync(write: true, async (connection, start) =>
        {
            var id = Interlocked.Increment(ref nextId);
            var port = await connection.ExecuteScalarAsync<int>($"INSERT INTO {table} (id, port) VALUES (@id, inet_server_port()) RETURNING port", new { id });
            writes.Enqueue((port, start, clock.Elapsed));
        }), CancellationToken.None);
        var reader = Task.Run(() => LoopAsync(write: false, async (connection, start) =>
        {
            var (port, inRecovery) = await connection.QuerySingleAsync<(int, bool)>("SELECT inet_server_port(), pg_is_in_recovery()");
            reads.Enqueue((port, inRecovery, start, clock.Elapsed));
        }), CancellationToken.None);

        async Task LoopAsync(bool write, Func<RoutedConnection, TimeSpan, Task> work)
        {
            while (!stop.IsCancellationRequested)
            {
                var start = clock.Elapsed;
                try
                {
                    await using var connection = await busy.OpenConnectionAsync(CancellationToken.None);
                    await work(connection, start);
                }
                catch (Exception e) when (e is DbException or NoSuitableHostException or TimeoutException or InvalidOperationException)
                {
                    failures.Enqueue((write, e, start, clock.Elapsed));
                }

                await Task.Delay(10, CancellationToken.None); // A steady loop, not a busy one: the machine is shared.
            }
        }

        try
        {
            await WaitUntilAsync(() => writes.Count > 20 && reads.Count > 20, "writes and reads before the kill");

            // Who sees the new leader when: each data source's snapshot, watched every 2 ms from the kill on; and the
            // last time the returning old leader was seen not eligible for reads (before it, none may go there).
            TimeSpan? busySaw = null, idleSaw = null, oldEligibleAgain = null;
            var oldLastIneligible = TimeSpan.Zero;
            var watching = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested && (busySaw is null || idleSaw is null || oldEligibleAgain is null))
                {
                    var now = clock.Elapsed;
                    busySaw ??= NewPrimary(busy) ? now : null;
                    idleSaw ??= NewPrimary(idle) ? now : null;
                    if (oldEligibleAgain is null)
                    {
                        if (Array.Exists(busy.Monitor.Snapshot.EligibleReplicas, r => r.Host.Endpoint.Port == oldPort))
                        {
                            oldEligibleAgain = now;
                        }
                        else
                        {
                            oldLastIneligible = now;
                        }
                    }

                    await Task.Delay(2, CancellationToken.None);
                }
            }, CancellationToken.None);
            bool NewPrimary(ReplicatedDataSource dataSource) => dataSource.Monitor.Snapshot.Primary is { } p && p.Host.Endpoint.Port != oldPort;

            var killing = clock.Elapsed;
            await oldLeader.KillAsync(_ct);
            var killed = clock.Elapsed;
            var newLeader = await cluster.WaitForLeaderAsync(n => n != oldLeader, TimeSpan.FromSeconds(60), _ct);
            var patroniSaid = clock.Elapsed;

            // Patroni names the leader once it holds the leader key, before its promotion ends: when did it leave recovery?
            await using (var probe = new NpgsqlConnection(newLeader.ConnectionString))
            {
                await probe.OpenAsync(_ct);
                await using var inRecovery = new NpgsqlCommand("SELECT pg_is_in_recovery()", probe);
                while ((bool)(await inRecovery.ExecuteScalarAsync(_ct))!)
                {
                    await Task.Delay(2, _ct);
                }
            }

            var promoted = clock.Elapsed;
            await WaitUntilAsync(() => busySaw is not null && idleSaw is not null, "both data sources to see the new leader");
            await WaitUntilAsync(() => writes.Count(w => w.Port == newLeader.Port) > 20, "writes on the new leader");
            var firstWrite = writes.First(w => w.Port == newLeader.Port).End;

            // The old leader comes back: Patroni rewinds it and makes it a replica of the new one.
            var restarting = clock.Elapsed;
            await oldLeader.StartAsync(_ct);
            await cluster.WaitForHealthyAsync(TimeSpan.FromSeconds(60), _ct);
            var rejoined = clock.Elapsed;
            await WaitUntilAsync(() => oldEligibleAgain is not null, "the returning node to take reads again");
            var writesBefore = writes.Count;
            // More than the 20 asserted below: the write in flight when the node returned started before it did.
            await WaitUntilAsync(() => writes.Count > writesBefore + 30, "writes after the old leader returned");
            await stop.CancelAsync();
            await Task.WhenAll(writer, reader, watching);

            var failed = failures.GroupBy(f => (f.Write ? "write " : "read ") + f.Error.GetType().Name)
                .Select(g => $"{g.Count()} {g.Key} (ending {Ms(g.Min(f => f.End) - killed).Trim()} to {Ms(g.Max(f => f.End) - killed).Trim()} after the kill)");
            var report = string.Create(CultureInfo.InvariantCulture, $"""
                Patroni leader kill, {(withSource ? "WITH the Patroni source (polled every 250 ms)" : "probing alone (no topology source)")}: {oldLeader.Name} → {newLeader.Name}
                  SIGKILL to the leader's patroni and postmaster, both gone  {Ms(killed - killing)}
                  kill → Patroni's /cluster names the new leader            {Ms(patroniSaid - killed)}
                  Patroni names it → it has left recovery (promoted)        {Ms(promoted - patroniSaid)} (at most: seen by polling it)
                  Patroni names it → busy data source's snapshot has it     {Ms(busySaw!.Value - patroniSaid)}
                  Patroni names it → idle data source's snapshot has it     {Ms(idleSaw!.Value - patroniSaid)} (no commands at all)
                  Patroni names it → first write acknowledged by it         {Ms(firstWrite - patroniSaid)}
                  old leader restarted → Patroni reports it a replica       {Ms(rejoined - restarting)}
                  old leader restarted → it takes reads again               {Ms(oldEligibleAgain!.Value - restarting)}
                  {writes.Count} writes, {reads.Count} reads; failures: {(failures.IsEmpty ? "none" : string.Join("; ", failed))}
                """);
            TestContext.Current.TestOutputHelper?.WriteLine(report);
            foreach (var (_, error, _, end) in failures.Take(3))
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"  {Ms(end - killed)} after the kill: {error.Message}");
            }

            // Writes sent once the old leader was gone ran on the new leader: none on the old node, also when it came back.
            Assert.All(writes.Where(w => w.Start > killed), w => Assert.Equal(newLeader.Port, w.Port));
            Assert.True(writes.Count(w => w.Start > rejoined) > 20, report);

            // No read from a host that was not eligible: none sent after the kill ran on the old node and ended while it
            // was still seen ineligible, and none outside recovery but on the new leader.
            Assert.DoesNotContain(reads, r => r.Port == oldPort && r.Start > killed && r.End < oldLastIneligible);
            Assert.All(reads.Where(r => r.Start > killed && !r.InRecovery), r => Assert.Equal(newLeader.Port, r.Port));

            // Writes fail only in flight on the dying leader (outcome unknown), never for want of a host: they wait for
            // the new leader. Reads may find no host only while there is no primary (a replica whose WAL receiver is down
            // may be judged behind the newest timeline).
            Assert.True(failures.Count(f => f.Write) <= 1, report);
            Assert.DoesNotContain(failures, f => f.Write && f.Error is NoSuitableHostException);
            Assert.All(failures.Where(f => !f.Write), f => Assert.True(f.Error is NoSuitableHostException && f.End >= killing && f.Start <= busySaw.Value, $"{f.Error.GetType().Name} ending {Ms(f.End - killed)} after the kill: {f.Error.Message}"));

            Assert.Equal(newLeader.Port, idle.Monitor.Snapshot.Primary?.Host.Endpoint.Port);
            if (withSource)
            {
                // The source saw the new leader and said so; a probe confirmed it (the snapshot is the probes' word).
                Assert.Contains(logs.Entries, l => l.EventId == RoutingDataEventId.TopologySourceReported && l.Text.Contains($"the leader is 127.0.0.1:{newLeader.Port}", StringComparison.Ordinal));
                Assert.Contains($"Patroni says the leader is 127.0.0.1:{newLeader.Port}", idle.Monitor.Snapshot.Describe(), StringComparison.Ordinal);
            }
        }
        finally
        {
            await stop.CancelAsync();
            if (!oldLeader.IsRunning)
            {
                await oldLeader.StartAsync(CancellationToken.None);
            }
        }
    }

    private static string Ms(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{span.TotalMilliseconds,7:0} ms");

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"Timed out waiting for {what}.");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }
}
