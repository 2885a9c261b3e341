using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dapper;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Routing;

/// <summary>Runs alone: counters are process-wide, so no other test may route commands meanwhile.</summary>
[CollectionDefinition(nameof(SerialDiagnostics), DisableParallelization = true)]
public sealed class SerialDiagnostics;

/// <summary>Every routing decision shows up as an activity and in the counters, with the same facts as LastRoute.</summary>
[Collection(nameof(SerialDiagnostics))]
public sealed class DiagnosticsTests(RoutingClusterFixture fixture) : ClusterTestBase, IClassFixture<RoutingClusterFixture>
{
    [Fact]
    public async Task Routing_decisions_are_traced_and_counted()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        var marker = "diag_" + Guid.NewGuid().ToString("N")[..8];

        var activities = new ConcurrentQueue<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is RoutingDiagnostics.ActivitySourceName or "RoutingData.Tests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(activityListener);

        var counts = new ConcurrentDictionary<string, long>();
        using var meterListener = new MeterListener();
        meterListener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == RoutingDiagnostics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name + "|" + string.Join(",", tags.ToArray().Where(t => t.Key.StartsWith("routingdata.", StringComparison.Ordinal) || t.Key == "error.type").Select(t => $"{t.Key}={t.Value}"));
            counts.AddOrUpdate(key, value, (_, n) => n + value);
        });
        meterListener.Start();

        // Other tests route concurrently: only activities under this test's own parent count.
        using var testSource = new ActivitySource("RoutingData.Tests");
        using var parent = testSource.StartActivity(marker)!;
        await using var connection = dataSource.CreateConnection();
        await connection.ExecuteAsync($"CREATE TABLE {marker} (id int)");
        await WaitForSessionAsync(cluster, dataSource, connection.ConsistencySession);
        await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM {marker}");
        var readRoute = connection.LastRoute!.Value;

        var mine = activities.Where(a => a.ParentId == parent.Id && a.OperationName == "routingdata.route").ToList();
        Assert.Equal(2, mine.Count);
        var write = mine[0];
        Assert.Equal("primary", write.GetTagItem("routingdata.route.role"));
        Assert.Equal("ClassifiedWrite", write.GetTagItem("routingdata.route.reason"));
        var read = mine[1];
        Assert.Equal("replica", read.GetTagItem("routingdata.route.role"));
        Assert.Equal("ClassifiedRead", read.GetTagItem("routingdata.route.reason"));
        Assert.Equal(readRoute.Host, $"{read.GetTagItem("server.address")}:{read.GetTagItem("server.port")}");
        Assert.Equal("postgresql", read.GetTagItem("db.system.name"));
        Assert.Equal("SELECT", read.GetTagItem("routingdata.route.detail"));

        // Exactly this test's two commands: nothing else runs meanwhile, so a counter that missed or doubled them fails.
        Assert.Equal(1L, counts.GetValueOrDefault("routingdata.commands|routingdata.route.role=replica,routingdata.route.reason=ClassifiedRead"));
        Assert.Equal(1L, counts.GetValueOrDefault("routingdata.commands|routingdata.route.role=primary,routingdata.route.reason=ClassifiedWrite"));
        Assert.Equal(2L, counts.Where(c => c.Key.StartsWith("routingdata.commands|", StringComparison.Ordinal)).Sum(c => c.Value));
    }
}
