using Dapper;
using RoutingData.ConsistencyCheck;
using RoutingData.Testing;
using RoutingData.Testing.Consistency;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Consistency;

/// <summary>
/// Sessions that read the primary get back onto the replicas (a bounded wait to rejoin) once the replicas have their own
/// writes, while other clients keep writing; reads right after a write never wait; the Wait policy spreads its waits.
/// </summary>
public sealed class RejoinTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Users_who_write_once_and_keep_reading_get_back_onto_the_replicas(bool carryTokens)
    {
        var workload = new WriteOnceWorkload
        {
            Users = 4,
            Writers = 2,
            Duration = TimeSpan.FromSeconds(4),
            Settle = TimeSpan.FromMilliseconds(200 + 1500),
        };
        var cluster = await LaggingKvClusterAsync(TimeSpan.FromMilliseconds(200), workload.Keys);
        var dataSource = await CreateDataSourceAsync(cluster); // Default policy and rejoin bound.
        await WaitForLagsAsync(dataSource);
        await using var system = new RoutingDataSystem(dataSource, cluster, carryTokens ? "RoutingData (tokens)" : "RoutingData", carryTokens);

        var report = await workload.RunAsync(system, _ct);

        var context = $"{report} {report.Consistency}; first error: {report.Consistency.FirstError}";
        TestContext.Current.TestOutputHelper?.WriteLine(context);
        Assert.Equal(0, report.Consistency.Errors);
        Assert.Equal(0, report.Consistency.ReadYourWritesViolations);
        Assert.Equal(0, report.Consistency.MonotonicReadViolations);
        Assert.True(report.SettledReads > 100, context);
        Assert.True(report.SettledReplicaShare >= 0.9, context);
    }

    [Fact]
    public async Task A_read_right_after_a_write_goes_to_the_primary_without_waiting()
    {
        // The replicas are 1 s behind, well within the rejoin bound: only the rule "the session's own write is on no
        // replica yet" keeps these reads from waiting.
        var cluster = await LaggingKvClusterAsync(TimeSpan.FromSeconds(1), keys: 4);
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.Options.MaxRejoinWait = TimeSpan.FromSeconds(3));
        await WaitForLagsAsync(dataSource);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_ct);
        var updates = 0;
        var writer = Task.Run(async () =>
        {
            // Someone else keeps writing: every primary read sees a newer position than the session's write.
            while (!stop.IsCancellationRequested)
            {
                await cluster.Primary.ExecuteAsync("UPDATE kv SET version = version + 1 WHERE k = 3", CancellationToken.None);
                Interlocked.Increment(ref updates);
                await Task.Delay(10, CancellationToken.None);
            }
        }, CancellationToken.None);

        try
        {
            var session = new ConsistencySession();
            await using (var connection = dataSource.CreateConnection(session))
            {
                await connection.ExecuteAsync(KeyValueSql.Write, new { k = 1 });
            }

            // The other client has written after the session (the second update counted from here started after the
            // session's write ended), so the reads below see past the write: on a loaded machine its first update can
            // lag the session's. The replicas stay a second behind.
            var counted = Volatile.Read(ref updates);
            await WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref updates) > counted + 1), "another client's write after the session's");
            var waitsBefore = dataSource.ReplicaWaits;
            for (var i = 0; i < 5; i++)
            {
                await using var connection = dataSource.CreateConnection(session);
                await connection.QuerySingleAsync<(long, int)>(KeyValueSql.Read, new { k = 1 });
                Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
                Assert.Contains(connection.LastRoute!.Value.Reason, new[] { RoutingReason.PositionPending, RoutingReason.NotCaughtUp });
            }

            Assert.True(session.Token!.Value.WriteLsn is not null, $"the primary reads saw past the write: {session.Token}");
            Assert.Equal(waitsBefore, dataSource.ReplicaWaits);
        }
        finally
        {
            await stop.CancelAsync();
            await writer;
        }
    }

    [Fact]
    public async Task The_wait_policy_spreads_its_waits_over_the_replicas_that_can_catch_up()
    {
        var cluster = await LaggingKvClusterAsync(TimeSpan.FromMilliseconds(300), keys: 4);
        await using var dataSource = await CreateDataSourceAsync(cluster, b =>
        {
            b.Options.StaleReadPolicy = StaleReadPolicy.Wait;
            b.Options.MaxReadYourWritesWait = TimeSpan.FromSeconds(5);
        });
        await WaitForLagsAsync(dataSource);
        var waitedOn = new List<string>();
        for (var i = 0; i < 16; i++)
        {
            await using var connection = dataSource.CreateConnection(new ConsistencySession());
            var written = await connection.QuerySingleAsync<(long Version, int Port)>(KeyValueSql.Write, new { k = 1 });
            var read = await connection.QuerySingleAsync<(long Version, int Port)>(KeyValueSql.Read, new { k = 1 });
            Assert.Equal(written.Version, read.Version);
            if (connection.LastRoute!.Value.Reason == RoutingReason.WaitedForReplica)
            {
                waitedOn.Add(connection.LastRoute!.Value.Host);
            }
        }

        var byHost = string.Join(", ", waitedOn.GroupBy(h => h).Select(g => $"{g.Key}: {g.Count()}"));
        Assert.True(waitedOn.Count >= 8, $"only {waitedOn.Count} reads waited ({byHost})");
        foreach (var replica in cluster.Replicas)
        {
            var count = waitedOn.Count(h => h.EndsWith($":{replica.Port}", StringComparison.Ordinal));
            Assert.True(count >= waitedOn.Count / 4, $"{replica} took {count} of {waitedOn.Count} waits ({byHost})");
        }
    }

    private static Task WaitForLagsAsync(ReplicatedDataSource dataSource) =>
        WaitUntilAsync(() => Task.FromResult(dataSource.Monitor.Snapshot.EligibleReplicas.Count(r => dataSource.Monitor.Snapshot.Lags[r.Host.Index] is not null) == 2), "both replicas' lag to be measured");

    private async Task<PostgresCluster> LaggingKvClusterAsync(TimeSpan delay, int keys)
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync(ConsistencyWorkload.SetupSql(keys), _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(delay, _ct);
        }

        return cluster;
    }
}
