using RoutingData.ConsistencyCheck;
using RoutingData.Testing;
using RoutingData.Testing.Consistency;
using RoutingData.Testing.Xunit;
using Xunit;

namespace RoutingData.Tests.Consistency;

/// <summary>
/// The checker against real systems under 200 ms replay lag: RoutingData must show no violation while serving
/// reads from replicas; Npgsql multi-host must show violations — if it did not, the checker would be suspect.
/// </summary>
public sealed class ConsistencyWorkloadTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task RoutingData_keeps_both_guarantees_under_lag_and_Npgsql_multi_host_does_not()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync(ConsistencyWorkload.SetupSql(20), _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(TimeSpan.FromMilliseconds(200), _ct);
        }

        var probe = new ConsistencyWorkload { Sessions = 10, Keys = 20, Duration = TimeSpan.FromSeconds(2), WriteRatio = 0.5, WriteThenRead = true };
        var mix = new ConsistencyWorkload { Sessions = 10, Keys = 20, Duration = TimeSpan.FromSeconds(3), WriteRatio = 0.1, WriteThenRead = false, ThinkTime = TimeSpan.FromMilliseconds(20) };

        await using (var multiHost = NpgsqlSystems.MultiHost(cluster))
        {
            var report = await probe.RunAsync(multiHost, _ct);
            Assert.True(report.ReadYourWritesViolations > 0, $"Npgsql multi-host showed no violation in {report.Reads} reads under 200 ms lag: the checker is suspect.");
        }

        await using (var fallback = new RoutingDataSystem(await RoutingTestHelpers.CreateDataSourceAsync(cluster), cluster))
        {
            var report = await probe.RunAsync(fallback, _ct);
            Assert.Equal(0, report.Errors);
            Assert.True(report.Reads > 50, $"only {report.Reads} reads");
            Assert.Equal(0, report.ReadYourWritesViolations);
            Assert.Equal(0, report.MonotonicReadViolations);

            // Sessions that only read must be served by replicas: a router that sent everything to the primary would
            // pass the checks above.
            var readers = new ConsistencyWorkload { Sessions = 10, Keys = 20, Duration = TimeSpan.FromSeconds(1), WriteRatio = 0, WriteThenRead = false };
            var reading = await readers.RunAsync(fallback, _ct);
            Assert.True(reading.ReplicaReadShare >= 0.9, $"{reading.ReplicaReadShare:P1} of {reading.Reads} reads on replicas");
        }

        var waiting = await RoutingTestHelpers.CreateDataSourceAsync(cluster, b =>
        {
            b.Options.StaleReadPolicy = StaleReadPolicy.Wait;
            b.Options.MaxReadYourWritesWait = TimeSpan.FromSeconds(2);
        });
        await using (var wait = new RoutingDataSystem(waiting, cluster))
        {
            var report = await mix.RunAsync(wait, _ct);
            Assert.Equal(0, report.Errors);
            Assert.Equal(0, report.ReadYourWritesViolations);
            Assert.Equal(0, report.MonotonicReadViolations);
            Assert.True(report.ReplicaReadShare >= 0.8, $"{report.ReplicaReadShare:P1} of {report.Reads} reads on replicas");
        }
    }
}
