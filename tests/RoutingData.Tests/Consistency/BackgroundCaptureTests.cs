using Dapper;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Consistency;

/// <summary>The default background capture on a real cluster: shared by concurrent writers, and never a stale read.</summary>
public sealed class BackgroundCaptureTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(StaleReadPolicy.Wait)]
    [InlineData(StaleReadPolicy.FallbackToPrimary)]
    public async Task Concurrent_writers_share_captures_and_each_reads_its_own_write(StaleReadPolicy policy)
    {
        const int Sessions = 20, Writes = 20;
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var interval = TimeSpan.FromMilliseconds(10);
        await using var dataSource = await CreateDataSourceAsync(cluster, b => (b.Options.StaleReadPolicy, b.Options.LsnCaptureInterval) = (policy, interval));
        var started = TimeProvider.System.GetTimestamp();

        var replicaReads = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Sessions, CancellationToken = _ct };
        await Parallel.ForAsync(0, Sessions, parallel, async (session, ct) =>
        {
            await using var connection = dataSource.CreateConnection();
            for (var i = 0; i < Writes; i++)
            {
                var key = (session * 1000) + i;
                await connection.ExecuteAsync("INSERT INTO kv VALUES (@key, @key)", new { key });
                Assert.Equal(key, await connection.QuerySingleOrDefaultAsync<int?>("SELECT v FROM kv WHERE k = @key", new { key }));
                if (connection.LastRoute!.Value.Role == HostRole.Replica)
                {
                    Interlocked.Increment(ref replicaReads);
                }
            }
        });

        // One capture covers every write acknowledged before it started: at most one per interval, however many
        // sessions write — far fewer captures than writes.
        var captures = dataSource.Clock.Captures;
        var elapsed = TimeProvider.System.GetElapsedTime(started);
        Assert.InRange(captures, 1, (long)(elapsed / interval) + 5);
        Assert.True(captures < Sessions * Writes / 2, $"{captures} captures for {Sessions * Writes} writes in {elapsed}");
        if (policy == StaleReadPolicy.Wait)
        {
            // Waiting a few milliseconds for the capture (and the replica) keeps reads-after-writes off the primary.
            Assert.True(replicaReads > Sessions * Writes / 2, $"{replicaReads} of {Sessions * Writes} reads on the replica");
        }
    }
}
