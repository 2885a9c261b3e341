using System.Globalization;
using RoutingData.ConsistencyCheck;
using RoutingData.Testing.Consistency;
using RoutingData.Testing.Faults;
using RoutingData.Testing.Xunit;
using Xunit;

namespace RoutingData.Tests.Consistency;

/// <summary>
/// Sessions write and read through RoutingData while a nemesis restarts replicas, stalls and resumes their WAL streams,
/// changes their replay delay and kills their connections: the history checker must find no read-your-writes and no
/// monotonic-read violation, and — the primary being untouched — no failed operation. Short in CI; set ROUTINGDATA_CHAOS_SECONDS for a long run.
/// </summary>
public sealed class ChaosConsistencyTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(StaleReadPolicy.FallbackToPrimary)]
    [InlineData(StaleReadPolicy.Wait)]
    public async Task No_consistency_violation_while_a_nemesis_attacks_the_replicas(StaleReadPolicy policy)
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("ROUTINGDATA_CHAOS_SECONDS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : 10;
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync(ConsistencyWorkload.SetupSql(20), _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var baseDelay = TimeSpan.FromMilliseconds(100);
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(baseDelay, _ct);
        }

        var dataSource = await RoutingTestHelpers.CreateDataSourceAsync(cluster, b =>
        {
            b.Options.StaleReadPolicy = policy;
            b.Options.MaxReadYourWritesWait = TimeSpan.FromSeconds(1);
            b.Options.MaxReplicaLag = TimeSpan.FromSeconds(2);
        });
        await using var system = new RoutingDataSystem(dataSource, cluster);
        var nemesis = new Nemesis(cluster, seed: (int)policy + 17) { BaseReplayDelay = baseDelay };
        var workload = new ConsistencyWorkload
        {
            Sessions = 8,
            Keys = 20,
            Duration = TimeSpan.FromSeconds(seconds),
            WriteRatio = 0.3,
            WriteThenRead = false,
            ThinkTime = TimeSpan.FromMilliseconds(5),
        };

        var attack = nemesis.RunAsync(TimeSpan.FromSeconds(seconds), _ct);
        var report = await workload.RunAsync(system, _ct);
        await attack;

        var context = $"{report}{Environment.NewLine}First error: {report.FirstError}{Environment.NewLine}Nemesis:{Environment.NewLine}{string.Join(Environment.NewLine, nemesis.Log)}";
        TestContext.Current.TestOutputHelper?.WriteLine(context);
        Assert.True(report.Reads > 100, context);
        Assert.True(report.ReplicaReads > 0, context);
        Assert.Equal(0, report.ReadYourWritesViolations);
        Assert.Equal(0, report.MonotonicReadViolations);

        // The nemesis attacks replicas only: the primary can always serve, so no read (or write) may fail.
        Assert.True(report.Errors == 0, context);
        foreach (var (action, count) in nemesis.Counts)
        {
            Assert.True(count > 0, $"{action} never happened. {context}");
        }
    }
}
