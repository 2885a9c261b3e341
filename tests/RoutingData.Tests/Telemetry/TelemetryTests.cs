using System.Diagnostics;
using Dapper;
using Npgsql;
using OpenTelemetry.Metrics;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using RoutingData.Tests.Routing;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;
using static RoutingData.Tests.Telemetry.TelemetryCapture;

namespace RoutingData.Tests.Telemetry;

/// <summary>
/// What an application sees through the RoutingData.OpenTelemetry package and its logs: routed commands with their
/// route, role, reason and server; a lagging replica's lag and exclusion; a failover as one span with its phases; a
/// fenced stale primary. Never the password. Runs alone: metrics are process-wide.
/// </summary>
[Collection(nameof(SerialDiagnostics))]
public sealed class TelemetryTests(RoutingClusterFixture fixture) : ClusterTestBase, IClassFixture<RoutingClusterFixture>
{
    private static readonly string[] FailoverPhases = ["primary_lost", "fast_probing", "candidate_found", "primary_confirmed"];

    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Routed_commands_emit_duration_counts_and_route_spans_with_role_reason_and_server_and_no_password()
    {
        var cluster = UseShared(fixture.Cluster);
        using var capture = new TelemetryCapture();
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.UseLoggerFactory(capture.LoggerFactory));
        var marker = "otel_" + Guid.NewGuid().ToString("N")[..8];

        await using var connection = dataSource.CreateConnection();
        await connection.ExecuteAsync($"CREATE TABLE {marker} (id int)");
        await connection.ExecuteAsync($"INSERT INTO {marker} VALUES (1)");
        await WaitForSessionAsync(cluster, dataSource, connection.ConsistencySession);
        Assert.Equal(1L, await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM {marker}"));
        var read = connection.LastRoute!.Value;
        Assert.Equal(HostRole.Replica, read.Role);
        var readPort = int.Parse(read.Host.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture);
        var failed = await Assert.ThrowsAsync<PostgresException>(() => connection.QueryAsync<int>($"SELECT * FROM {marker}_missing"));
        capture.Exception(failed);

        // Duration: one histogram point per route; the write's two commands on the primary, the read on its replica.
        var durations = capture.Points("routingdata.operation.duration");
        var writes = Assert.Single(durations, p => Has(p, ("routingdata.route.role", "primary"), ("routingdata.route.reason", "ClassifiedWrite")));
        Assert.Equal(2, writes.GetHistogramCount());
        Assert.True(Has(writes, ("db.system.name", "postgresql"), ("server.port", cluster.Primary.Port), ("server.address", cluster.Primary.Address)));
        Assert.Null(Tag(writes, "error.type"));
        var reads = Assert.Single(durations, p => Has(p, ("routingdata.route.role", "replica"), ("routingdata.route.reason", "ClassifiedRead"), ("server.port", readPort)) && Tag(p, "error.type") is null);
        Assert.Equal(1, reads.GetHistogramCount());
        Assert.True(reads.GetHistogramSum() > 0);
        var failure = Assert.Single(durations, p => Tag(p, "error.type") is not null);
        Assert.Equal("42P01", Tag(failure, "error.type"));

        // Commands by route: exactly this test's, the failed read counted with its error type.
        var commands = capture.Points("routingdata.commands");
        Assert.Equal(2, Assert.Single(commands, p => Has(p, ("routingdata.route.reason", "ClassifiedWrite"), ("server.port", cluster.Primary.Port))).GetSumLong());
        Assert.Equal(1, Assert.Single(commands, p => Has(p, ("routingdata.route.reason", "ClassifiedRead"), ("error.type", "42P01"))).GetSumLong());

        // Every configured host reports its health and role.
        var health = capture.Points("routingdata.host.health");
        foreach (var node in cluster.Nodes)
        {
            var point = Assert.Single(health, p => Has(p, ("server.port", node.Port)));
            Assert.Equal(1, point.GetGaugeLastValueLong());
            Assert.Equal(node == cluster.Primary ? "primary" : "replica", Tag(point, "routingdata.host.role"));
        }

        // Spans: a route span per attempt, Npgsql's command span under it with the route's tags; probes are not traced.
        var spans = capture.Spans();
        var routes = spans.Where(s => s.OperationName == "routingdata.route").ToList();
        Assert.Equal(4, routes.Count);
        var readSpan = Assert.Single(routes, s => (string?)s.GetTagItem("routingdata.route.reason") == "ClassifiedRead" && s.Status != ActivityStatusCode.Error);
        Assert.Equal(readPort, readSpan.GetTagItem("server.port"));
        var npgsqlRead = Assert.Single(spans, s => s.Source.Name == "Npgsql" && s.ParentSpanId == readSpan.SpanId);
        Assert.Equal("replica", npgsqlRead.GetTagItem("routingdata.route.role"));
        Assert.Equal("ClassifiedRead", npgsqlRead.GetTagItem("routingdata.route.reason"));
        var failedSpan = Assert.Single(routes, s => s.Status == ActivityStatusCode.Error);
        Assert.Equal("42P01", failedSpan.GetTagItem("error.type"));
        Assert.DoesNotContain(spans, s => s.Source.Name == "Npgsql" && s.TagObjects.Any(t => t.Value?.ToString()?.Contains("pg_control_system", StringComparison.Ordinal) == true));

        // The routing decision is logged too (Debug), and nothing names the password (SCRAM cluster).
        Assert.True(capture.Logged(RoutingDataEventId.CommandRouted));
        AssertNoSecret(capture, cluster);
    }

    [Fact]
    public async Task A_lagging_replica_shows_in_the_lag_gauges_is_excluded_with_a_log_and_reads_count_the_lag_bound()
    {
        var cluster = UseShared(fixture.Cluster);
        var delayed = cluster.Replicas[1];
        using var capture = new TelemetryCapture();
        var hosts = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Host = $"{cluster.Primary.Address}:{cluster.Primary.Port},{delayed.Address}:{delayed.Port}" };
        await using var dataSource = await CreateDataSourceAsync(hosts.ConnectionString, b =>
        {
            b.UseLoggerFactory(capture.LoggerFactory);
            b.Options.MaxReplicaLag = TimeSpan.FromSeconds(1);
        });
        var marker = "otel_lag_" + Guid.NewGuid().ToString("N")[..8];
        await cluster.Primary.ExecuteAsync($"CREATE TABLE {marker} (id int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);

        await delayed.SetReplayDelayAsync(TimeSpan.FromSeconds(6), _ct);
        var readmittedBefore = 0;
        try
        {
            // Keep the primary writing: the delayed replica falls behind in bytes and in time, past the 1 s bound.
            List<MetricPoint> lagBytes = [], lagTime = [], eligible = [];
            var id = 0;
            await WaitUntilAsync(
                async () =>
                {
                    await cluster.Primary.ExecuteAsync($"INSERT INTO {marker} VALUES ({id++})", _ct);
                    eligible = capture.Points("routingdata.replica.eligible");
                    lagBytes = capture.Points("routingdata.replica.lag");
                    lagTime = capture.Points("routingdata.replica.lag.time");
                    return eligible.Exists(p => Has(p, ("server.port", delayed.Port)) && p.GetGaugeLastValueLong() == 0);
                },
                "the delayed replica to be excluded by the lag bound");

            Assert.True(Assert.Single(lagBytes, p => Has(p, ("server.port", delayed.Port))).GetGaugeLastValueLong() > 0);
            Assert.True(Assert.Single(lagTime, p => Has(p, ("server.port", delayed.Port))).GetGaugeLastValueDouble() > 1);
            Assert.DoesNotContain(lagBytes, p => Has(p, ("server.port", cluster.Primary.Port)));
            Assert.Contains(capture.RoutingDataLogs(), l => l.EventId == RoutingDataEventId.ReplicaExcluded && l.Message.Contains($":{delayed.Port} ", StringComparison.Ordinal));
            readmittedBefore = ReadmittedCount(capture, delayed);

            // A read goes to the primary, and says why in its route and in the metrics.
            await using var connection = dataSource.CreateConnection();
            await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM {marker}");
            Assert.Equal(RoutingReason.LagBound, connection.LastRoute!.Value.Reason);
            var lagBound = Assert.Single(capture.Points("routingdata.commands"), p => Has(p, ("routingdata.route.reason", "LagBound")));
            Assert.Equal(1, lagBound.GetSumLong());
            Assert.Equal("primary", Tag(lagBound, "routingdata.route.role"));
        }
        finally
        {
            await delayed.SetReplayDelayAsync(TimeSpan.Zero, CancellationToken.None);
            await cluster.WaitForReplicasAsync(cancellationToken: CancellationToken.None);
        }

        // Caught up: back in the read set, logged once.
        await WaitUntilAsync(() => Task.FromResult(ReadmittedCount(capture, delayed) > readmittedBefore), "the replica to take reads again");
        Assert.Equal(1, Assert.Single(capture.Points("routingdata.replica.eligible"), p => Has(p, ("server.port", delayed.Port))).GetGaugeLastValueLong());
        AssertNoSecret(capture, cluster);
    }

    [Fact]
    public async Task A_failover_is_one_span_with_its_phases_counted_and_logged_and_the_returning_old_primary_is_fenced()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1, Authentication = ClusterAuthentication.ScramSha256 });
        var (oldPrimary, promoted) = (cluster.Primary, cluster.Replicas[0]);
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        using var capture = new TelemetryCapture();

        // Built inside a request's span: the monitor's failover spans must not join that trace.
        using var testSource = new ActivitySource(TelemetryCapture.TestSourceName);
        ReplicatedDataSource dataSource;
        using (var request = testSource.StartActivity("request"))
        {
            Assert.NotNull(request);
            dataSource = await CreateDataSourceAsync(cluster, b => b.UseLoggerFactory(capture.LoggerFactory));
        }

        await using var disposeDataSource = dataSource;
        await using (var connection = dataSource.CreateConnection())
        {
            await connection.ExecuteAsync("INSERT INTO t VALUES (1)");
        }

        await oldPrimary.KillAsync(_ct);
        await WaitUntilAsync(() => Task.FromResult(capture.Logged(RoutingDataEventId.FailoverStarted)), "the monitor to lose the primary");
        Assert.Null(dataSource.Monitor.Snapshot.Primary);
        Assert.DoesNotContain(capture.Spans(), s => s.OperationName == "routingdata.failover");

        await cluster.PromoteAsync(promoted, _ct);
        await WaitUntilAsync(() => Task.FromResult(capture.Spans().Exists(s => s.OperationName == "routingdata.failover")), "the failover span to end");

        // One root span from the loss to the confirmation, its phases in order.
        var failover = Assert.Single(capture.Spans(), s => s.OperationName == "routingdata.failover");
        Assert.Null(failover.Parent);
        Assert.Equal(default, failover.ParentSpanId);
        Assert.EndsWith($":{oldPrimary.Port}", (string)failover.GetTagItem("routingdata.failover.old_primary")!, StringComparison.Ordinal);
        Assert.EndsWith($":{promoted.Port}", (string)failover.GetTagItem("routingdata.failover.new_primary")!, StringComparison.Ordinal);
        Assert.Equal(1, failover.GetTagItem("routingdata.failover.old_timeline"));
        Assert.Equal(2, failover.GetTagItem("routingdata.failover.new_timeline"));
        Assert.Equal("promoted", failover.GetTagItem("routingdata.failover.outcome"));
        var phases = failover.Events.Select(e => e.Name).ToList();
        Assert.Equal(FailoverPhases, phases.Where(p => p != "candidate_lost").ToArray());
        Assert.Equal(promoted.Port, failover.Events.First(e => e.Name == "candidate_found").Tags.Single(t => t.Key == "server.port").Value);

        // Counted and logged once; the promoted host's new role too.
        Assert.Equal(1, Assert.Single(capture.Points("routingdata.failovers"), p => Has(p, ("routingdata.failover.outcome", "promoted"))).GetSumLong());
        var duration = Assert.Single(capture.Points("routingdata.failover.duration"));
        Assert.Equal(1, duration.GetHistogramCount());
        Assert.True(duration.GetHistogramSum() > 0 && duration.GetHistogramSum() < 60, $"{duration.GetHistogramSum()} s");
        Assert.Equal(1, Assert.Single(capture.Points("routingdata.host.role_changes"), p => Has(p, ("server.port", promoted.Port), ("routingdata.host.role", "primary"))).GetSumLong());
        Assert.Single(capture.RoutingDataLogs(), l => l.EventId == RoutingDataEventId.FailoverCompleted);

        // The old primary comes back writable on timeline 1: fenced, with a span, a count and a warning; writes go on to the new one.
        await cluster.StartAsSplitBrainPrimaryAsync(oldPrimary, _ct);
        await WaitUntilAsync(
            async () =>
            {
                await dataSource.RefreshTopologyAsync(_ct);
                return capture.Logged(RoutingDataEventId.HostFenced);
            },
            "the returning old primary to be fenced");
        var fence = Assert.Single(capture.Spans(), s => s.OperationName == "routingdata.fence");
        Assert.Equal(oldPrimary.Port, fence.GetTagItem("server.port"));
        Assert.Equal(1, fence.GetTagItem("routingdata.timeline"));
        Assert.Equal(2, fence.GetTagItem("routingdata.newest_timeline"));
        Assert.Equal(1, Assert.Single(capture.Points("routingdata.host.fences"), p => Has(p, ("server.port", oldPrimary.Port))).GetSumLong());
        await using (var connection = dataSource.CreateConnection())
        {
            Assert.Equal(promoted.Port, await connection.ExecuteScalarAsync<int>("INSERT INTO t VALUES (2) RETURNING inet_server_port()"));
        }

        AssertNoSecret(capture, cluster);
    }

    private static int ReadmittedCount(TelemetryCapture capture, PostgresNode replica) =>
        capture.RoutingDataLogs().Count(l => l.EventId == RoutingDataEventId.ReplicaReadmitted && l.Message.Contains($":{replica.Port} ", StringComparison.Ordinal));

    private static void AssertNoSecret(TelemetryCapture capture, PostgresCluster cluster)
    {
        var password = cluster.Password;
        Assert.False(string.IsNullOrEmpty(password), "the cluster has no password to look for");
        var text = capture.Text();

        // Something to search: logs, metrics and spans were all captured.
        Assert.Contains("routingdata.route", text, StringComparison.Ordinal);
        Assert.Contains("routingdata.host.health", text, StringComparison.Ordinal);
        Assert.Contains("RoutingData.Topology.ClusterMonitor", text, StringComparison.Ordinal);
        Assert.False(Leaks(text, password!), "The password leaked into telemetry.");
    }
}
