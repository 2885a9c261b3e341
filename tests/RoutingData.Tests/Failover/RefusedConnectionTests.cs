using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dapper;
using Npgsql;
using RoutingData.Resilience;
using RoutingData.Testing;
using RoutingData.Testing.Faults;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Failover;

/// <summary>
/// A host the monitor finds healthy that then refuses a command's connection: a listener restarting, a pooler or load
/// balancer in front of it refusing, or a replica restarting to follow a new primary. The proxy in front of it resets
/// every new connection while the monitor's probe connection, opened before, still gets answers (probe timeouts are
/// long, so that the monitor never reconnects through the proxy: every refusal counted is a command's).
/// </summary>
public sealed class RefusedConnectionTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_write_whose_primary_answers_probes_but_refuses_connections_waits_for_it_at_most_the_bound_in_all()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int)", _ct);
        var proxy = cluster.CreateProxy(cluster.Primary);
        var bound = TimeSpan.FromSeconds(2.5);

        // As many reroutes as the options allow: only the bound can end the command.
        var reroutes = new System.Collections.Concurrent.ConcurrentQueue<TimeSpan>();
        var stopwatch = new Stopwatch();
        await using var dataSource = await CreateDataSourceAsync(
            Hosts(cluster, $"{proxy.Address}:{proxy.Port}", Direct(cluster.Replicas[0])),
            b =>
            {
                b.Options.MaxWaitForPrimary = bound;
                b.Options.TopologyProbeTimeout = TimeSpan.FromSeconds(10);
                b.ConfigureResilience(p => p.AddPrimaryWait(new PrimaryWaitStrategyOptions()).AddReroute(new RerouteStrategyOptions
                {
                    MaxUnreachableReroutes = 100,
                    OnReroute = _ =>
                    {
                        reroutes.Enqueue(stopwatch.Elapsed);
                        return ValueTask.CompletedTask;
                    },
                }));
            });

        // Every probe of the primary now takes at least two latencies (1.4 s), over the connection the monitor holds;
        // every new connection is refused. A wait that needs a probe round after the refusal lasts at least that long.
        proxy.SetMode(ProxyMode.Latency, TimeSpan.FromMilliseconds(700));
        proxy.RefuseNewConnections = true;
        var roundsAfter = dataSource.Monitor.PublishedRoundStartedAt;
        await WaitUntilAsync(() => Task.FromResult(dataSource.Monitor.PublishedRoundStartedAt > roundsAfter && dataSource.Monitor.Snapshot.Primary is not null), "a slow probe round that still finds the primary");

        // The primary-wait metric's samples from this test's command alone (the meter is shared by every test running).
        var waits = new System.Collections.Concurrent.ConcurrentQueue<(double Seconds, string? Outcome)>();
        var ours = new AsyncLocal<bool>();
        using var meter = new MeterListener();
        meter.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == RoutingDiagnostics.MeterName && instrument.Name == "routingdata.primary.wait.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meter.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            if (ours.Value)
            {
                string? outcome = null;
                foreach (var tag in tags)
                {
                    outcome = tag.Key == "routingdata.wait.outcome" ? tag.Value as string : outcome;
                }

                waits.Enqueue((seconds, outcome));
            }
        });
        meter.Start();

        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        stopwatch.Start();
        ours.Value = true;
        var error = await Assert.ThrowsAnyAsync<Exception>(() => connection.ExecuteAsync("INSERT INTO t VALUES (1)").WaitAsync(TimeSpan.FromSeconds(30), _ct));
        ours.Value = false;
        var elapsed = stopwatch.Elapsed;
        TestContext.Current.TestOutputHelper?.WriteLine($"The write failed after {elapsed.TotalMilliseconds:0} ms, rerouted at [{string.Join(", ", reroutes.Select(r => r.TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}] ms; {proxy.RefusedConnections} connections refused: {error.GetType().Name}: {error.Message}");

        // Each reroute waits for a probe round after the refusal, which finds the primary again and is refused again.
        // Bounded one by one, each such wait fits in the bound and the write goes on for a hundred of them (30 s and
        // more: measured with the deadline switched off). Drawing on one deadline, the second wait has less than a round
        // left: it runs out, the primary the newest snapshot still shows gets one last try at the deadline, and the
        // write ends when the bound is spent, not before.
        Assert.True(error is NpgsqlException or NoSuitableHostException, $"{error.GetType().Name}: {error.Message}");
        Assert.InRange(reroutes.Count, 0, 2);
        Assert.True(proxy.RefusedConnections >= 1);
        Assert.InRange(elapsed, bound - TimeSpan.FromMilliseconds(100), bound + TimeSpan.FromSeconds(1.5));

        // Each reroute's wait is a sample of the primary-wait metric: one that found the primary lasted a slow probe
        // round at least, and together they fit in the command's time.
        Assert.InRange(waits.Count, Math.Max(1, reroutes.Count), reroutes.Count + 1); // A last wait with no primary at all reroutes nowhere.
        Assert.All(waits, w => Assert.True(w.Outcome == "timed_out" || w.Seconds >= 1.3, $"{w}"));
        Assert.True(waits.Sum(w => w.Seconds) <= elapsed.TotalSeconds, string.Join(", ", waits));
        Assert.Equal(0L, await cluster.Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM t", _ct));
    }

    [Theory]
    [InlineData(false, true, false)]
    [InlineData(true, true, false)]
    [InlineData(false, false, false)]
    [InlineData(false, false, true)]
    public async Task A_read_whose_wait_ended_on_a_replica_that_then_refused_waits_on_and_is_served_by_the_next_host_to_catch_up(bool readOnlyTransaction, bool fallbackToPrimary, bool onlyReplica)
    {
        // A failover's gap: the session wrote, the standbys received the write but hold back its replay, the primary is dead.
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = onlyReplica ? 1 : 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var (refusing, next) = (cluster.Replicas[0], onlyReplica ? null : cluster.Replicas[1]);
        var proxy = cluster.CreateProxy(refusing);
        foreach (var standby in cluster.Replicas)
        {
            await standby.SetReplayDelayAsync(TimeSpan.FromMinutes(1), _ct);
        }

        // A wait far longer than the test's own deadlines: the read completes only if a replica ends it.
        string[] hosts = next is null ? [Direct(cluster.Primary), $"{proxy.Address}:{proxy.Port}"] : [Direct(cluster.Primary), $"{proxy.Address}:{proxy.Port}", Direct(next)];
        await using var dataSource = await CreateDataSourceAsync(
            Hosts(cluster, hosts),
            b =>
            {
                b.Options.MaxWaitForPrimary = TimeSpan.FromMinutes(10);
                b.Options.TopologyProbeTimeout = TimeSpan.FromSeconds(10);
                b.Options.FallbackToPrimary = fallbackToPrimary; // Off: still no reason to stop waiting while no primary is known.
            });
        var session = new ConsistencySession();
        await using (var writer = dataSource.CreateConnection(session))
        {
            await writer.OpenAsync(_ct);
            await writer.ExecuteAsync("INSERT INTO t VALUES (1)");
        }

        Assert.NotNull(await dataSource.ExportSessionAsync(session, _ct));
        var written = await cluster.Primary.ExecuteScalarAsync<NpgsqlTypes.NpgsqlLogSequenceNumber>("SELECT pg_current_wal_flush_lsn()", _ct);
        foreach (var standby in cluster.Replicas)
        {
            await WaitUntilAsync(
                async () => await standby.ExecuteScalarAsync<NpgsqlTypes.NpgsqlLogSequenceNumber>("SELECT pg_last_wal_receive_lsn()", _ct) >= written,
                $"{standby.Name} to receive the primary's WAL");
        }

        await cluster.Primary.KillAsync(_ct);
        await WaitUntilAsync(() => Task.FromResult(dataSource.Monitor.Snapshot.Primary is null), "the data source to know no primary");
        proxy.RefuseNewConnections = true;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        var read = Task.Run(async () =>
        {
            await using var connection = dataSource.CreateConnection(session);
            await connection.OpenAsync(stop.Token);
            await using var transaction = readOnlyTransaction ? await connection.BeginReadOnlyTransactionAsync(cancellationToken: stop.Token) : null;
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM t";
            command.Transaction = transaction;
            var count = (long)(await command.ExecuteScalarAsync(stop.Token))!;
            return (count, command.LastRoute!.Value);
        }, CancellationToken.None);

        try
        {
            // The first standby replays the write: the read's wait ends there, and the standby refuses the connection.
            // Nothing was sent and nowhere else has the write yet: the read waits on instead of failing, and tries the
            // standby again now and then (paused, not at every probe round), more often than one routing's reroutes allow.
            await refusing.SetReplayDelayAsync(TimeSpan.Zero, _ct);
            var refusals = new RerouteStrategyOptions().MaxUnreachableReroutes + 2;
            await WaitUntilAsync(() => Task.FromResult(proxy.RefusedConnections > 0 || read.IsCompleted), "the first refused connection");
            var sinceFirst = Stopwatch.StartNew();
            await WaitUntilAsync(() => Task.FromResult(proxy.RefusedConnections >= refusals || read.IsCompleted), $"{refusals} refused connections");
            Assert.False(read.IsCompleted, read.IsFaulted ? $"The read failed: {read.Exception!.InnerException}" : "The read was served before any host could take it.");

            // The pauses between the tries: 50, 100, 200 and 200 ms at least (doubling up to the probe interval, 200 ms
            // here). Retrying at every probe round, the refusals came within a few milliseconds.
            Assert.True(sinceFirst.Elapsed >= TimeSpan.FromSeconds(0.35), $"{refusals} refusals within {sinceFirst.ElapsedMilliseconds} ms: the read reconnects at every round.");

            // The other standby replays it (or, alone, the standby takes connections again): the read is served there.
            if (next is null)
            {
                proxy.RefuseNewConnections = false;
            }
            else
            {
                await next.SetReplayDelayAsync(TimeSpan.Zero, _ct);
            }

            await WaitUntilAsync(() => Task.FromResult(read.IsCompleted), "the read to be served");
            var (count, route) = await read;
            Assert.Equal(1, count);
            Assert.Equal(HostRole.Replica, route.Role);
            Assert.EndsWith($":{(next is null ? proxy.Port : next.Port)}", route.Host, StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAny(read);
        }
    }

    [Theory]
    [InlineData(ReadPreference.Replica, true)]
    [InlineData(ReadPreference.ReplicaPreferred, false)]
    public async Task A_read_that_may_not_fall_back_to_the_primary_is_not_moved_there_when_its_replica_refuses(ReadPreference preference, bool fallbackToPrimary)
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        var proxy = cluster.CreateProxy(cluster.Replicas[0]);
        await using var dataSource = await CreateDataSourceAsync(
            Hosts(cluster, Direct(cluster.Primary), $"{proxy.Address}:{proxy.Port}"),
            b =>
            {
                b.Options.FallbackToPrimary = fallbackToPrimary;
                b.Options.TopologyProbeTimeout = TimeSpan.FromSeconds(10);
            });
        await WaitUntilAsync(() => Task.FromResult(dataSource.Monitor.Snapshot.EligibleReplicas.Any(r => r.Host.Endpoint.Port == proxy.Port)), "the replica to be eligible");
        proxy.RefuseNewConnections = true;

        // Routed afresh, the read would not go to the primary (Replica never falls back; with FallbackToPrimary off a
        // read falls back only for the session's position). Moved after the refusal, it must not either.
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        connection.ReadPreference = preference;
        var error = await Assert.ThrowsAsync<NoSuitableHostException>(() => connection.ExecuteScalarAsync<bool>("SELECT pg_is_in_recovery()"));
        Assert.Equal(1, proxy.RefusedConnections);
        Assert.IsAssignableFrom<System.Data.Common.DbException>(error.InnerException);
        Assert.Contains($"The read failed on {proxy.Address}:{proxy.Port}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_that_fails_to_open_its_new_replica_returns_the_one_it_left_exactly_once()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var proxies = cluster.Replicas.Select(cluster.CreateProxy).ToArray();
        await using var dataSource = await CreateDataSourceAsync(
            Hosts(cluster, Direct(cluster.Primary), $"{proxies[0].Address}:{proxies[0].Port}", $"{proxies[1].Address}:{proxies[1].Port}"),
            b => b.Options.TopologyProbeTimeout = TimeSpan.FromSeconds(10));
        var session = new ConsistencySession();

        await using (var connection = dataSource.CreateConnection(session))
        {
            await connection.OpenAsync(_ct);
            Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT 1"));
            Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
            var stickyIndex = connection.LastRoute!.Value.Host.EndsWith($":{proxies[0].Port}", StringComparison.Ordinal) ? 0 : 1;
            var (sticky, other) = (cluster.Replicas[stickyIndex], cluster.Replicas[1 - stickyIndex]);
            var otherProxy = proxies[1 - stickyIndex];

            // The replica this connection holds stops replaying; the other one replays the session's write but takes no
            // new connection. The read after the write leaves the first for the second, whose open fails, and ends on the primary.
            await sticky.ExecuteAsync("SELECT pg_wal_replay_pause()", _ct);
            await connection.ExecuteAsync("INSERT INTO t VALUES (1)");
            var token = (await dataSource.GetSessionTokenAsync(session, _ct))!.Value;
            await other.WaitForReplayAsync(token.Lsn, TimeSpan.FromSeconds(30), _ct);
            var otherHost = dataSource.Monitor.Snapshot.Hosts.Single(h => h.Host.Endpoint.Port == otherProxy.Port).Host;
            await WaitUntilAsync(() => Task.FromResult(otherHost.KnownLsn >= (ulong)token.Lsn), "the data source to know the other replica has the write");
            otherProxy.RefuseNewConnections = true;

            Assert.Equal(1L, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM t"));
            Assert.Equal(1, otherProxy.RefusedConnections);
            Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
            Assert.Equal(1, dataSource.LeasedConnections); // The primary's, for the write and this read; no replica's.
        }

        // Closing returned what it held, once each: the count does not go below zero.
        Assert.Equal(0, dataSource.LeasedConnections);
    }

    /// <summary>The cluster's connection string over these hosts; without GSS encryption, which Npgsql would otherwise try
    /// first and then retry without, so that each open is one connection to the proxy.</summary>
    private static string Hosts(PostgresCluster cluster, params string[] hosts) =>
        new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Host = string.Join(',', hosts), GssEncryptionMode = GssEncryptionMode.Disable }.ConnectionString;
}
