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

    [Fact]
    public async Task A_session_reading_the_primary_in_a_tight_loop_gets_back_to_the_replica()
    {
        // Reads that fall back to the primary capture its position in their own round trip: marking them pending
        // instead would send every next read to the primary again, for ever.
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = dataSource.CreateConnection();
        await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 1)");

        var reads = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        do
        {
            Assert.Equal(1, await connection.QuerySingleAsync<int>("SELECT v FROM kv WHERE k = 1"));
            reads++;
        }
        while (connection.LastRoute!.Value.Role == HostRole.Primary && DateTime.UtcNow < deadline);

        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
        TestContext.Current.SendDiagnosticMessage($"back on the replica after {reads} reads");
    }

    [Fact]
    public async Task A_reader_that_fails_after_its_write_committed_still_holds_the_session_to_that_write()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await cluster.Replicas[0].SetReplayDelayAsync(TimeSpan.FromSeconds(30), _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        // The INSERT commits behind its error barrier; the next statement fails while the reader is being read.
        await using (var batch = connection.CreateBatch())
        {
            var insert = batch.CreateBatchCommand();
            insert.CommandText = "INSERT INTO kv VALUES (7, 7) RETURNING v";
            ((Npgsql.NpgsqlBatchCommand)insert).AppendErrorBarrier = true;
            batch.BatchCommands.Add(insert);
            var failing = batch.CreateBatchCommand();
            failing.CommandText = "SELECT 1 / 0";
            batch.BatchCommands.Add(failing);
            // Only the first result is read: the error surfaces while the reader is disposed (it reads through the rest).
            await Assert.ThrowsAsync<Npgsql.PostgresException>(async () =>
            {
                await using var reader = await batch.ExecuteReaderAsync(_ct);
                Assert.True(await reader.ReadAsync(_ct));
            });
        }

        Assert.Equal(1L, await cluster.Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM kv WHERE k = 7", _ct));

        // The replica is 30 s behind: only a session that knows about the write goes to the primary for it.
        Assert.Equal(7, await connection.QuerySingleOrDefaultAsync<int?>("SELECT v FROM kv WHERE k = 7"));
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
    }
}
