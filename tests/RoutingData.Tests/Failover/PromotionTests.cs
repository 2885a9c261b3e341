using Dapper;
using Npgsql;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Failover;

/// <summary>
/// A primary dies and a standby is promoted: the monitor looks for it at the failover cadence, and writes that arrive
/// in the gap wait for it (nothing of them sent) instead of failing.
/// </summary>
public sealed class PromotionTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Writes_in_the_gap_wait_for_the_promoted_primary_instead_of_failing()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int, at timestamptz DEFAULT clock_timestamp())", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var (oldPrimary, promoted, other) = (cluster.Primary, cluster.Replicas[0], cluster.Replicas[1]);
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.Options.MaxWaitForPrimary = TimeSpan.FromSeconds(20));

        using var stop = new CancellationTokenSource();
        var failures = new List<Exception>();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            for (var id = 0; !stop.IsCancellationRequested; id++)
            {
                try
                {
                    await using var connection = await dataSource.OpenConnectionAsync(CancellationToken.None);
                    await connection.ExecuteAsync("INSERT INTO t (id) VALUES (@id)", new { id });
                    written++;
                }
                catch (Exception e) when (e is System.Data.Common.DbException or NoSuitableHostException or InvalidOperationException or TimeoutException)
                {
                    failures.Add(e);
                }
            }
        }, CancellationToken.None);

        await WaitUntilAsync(() => Task.FromResult(written > 20), "writes before the failover");
        await oldPrimary.KillAsync(_ct);
        var killedAt = written;

        // The standby is promoted a while later: writes meanwhile have nowhere to go and must wait, not fail.
        await Task.Delay(TimeSpan.FromSeconds(1), _ct);
        await cluster.PromoteAsync(promoted, _ct);
        await WaitUntilAsync(async () => await promoted.ExecuteScalarAsync<long>("SELECT count(*) FROM t", _ct) > 0 && written > killedAt + 20, "writes on the promoted primary");
        await stop.CancelAsync();
        await writer;

        // At most the one write in flight when the primary died can fail (its outcome is unknown); none for lack of a host.
        Assert.True(failures.Count <= 1, string.Join(Environment.NewLine, failures.Select(f => f.GetType().Name + ": " + f.Message)));
        Assert.DoesNotContain(failures, f => f is NoSuitableHostException);
        Assert.Equal(HostRole.Primary, dataSource.GetHosts().Single(h => h.Host.EndsWith($":{promoted.Port}", StringComparison.Ordinal)).Role);
        _ = other;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_read_only_the_primary_can_serve_waits_in_the_gap_instead_of_failing_and_is_served_by_the_promoted_node(bool readOnlyTransaction)
    {
        await using var gap = await StartGapAsync(TimeSpan.FromSeconds(30));
        var read = gap.StartRead(readOnlyTransaction);
        await AssertStillWaitingAsync(gap, read);

        // Until the standby is promoted the read has nowhere to go: it waits (nothing sent) instead of failing. Promotion
        // replays the write first, so the read may be served by the node while it is still a replica, or once it is the
        // primary: either way by the promoted node, with the session's write.
        await gap.Cluster.PromoteAsync(gap.Standby, _ct);
        var (count, route) = await read;
        Assert.Equal(1, count);
        Assert.EndsWith($":{gap.Standby.Port}", route.Host, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_read_waiting_in_the_gap_is_served_by_a_replica_as_soon_as_it_replays_the_sessions_write(bool readOnlyTransaction)
    {
        // A wait for the primary far longer than the test's deadline below: the read completes only if the replica ends it.
        await using var gap = await StartGapAsync(TimeSpan.FromMinutes(10));
        var dataSource = gap.DataSource;
        var read = gap.StartRead(readOnlyTransaction);
        await AssertStillWaitingAsync(gap, read);

        // The standby replays the write. Nobody is promoted: the replica that now has the session's position serves the read.
        await gap.Standby.SetReplayDelayAsync(TimeSpan.Zero, _ct);
        await WaitUntilAsync(() => Task.FromResult(read.IsCompleted), "the read to be served by the replica");
        var (count, route) = await read;
        Assert.Equal(1, count);
        Assert.Equal(HostRole.Replica, route.Role);
        Assert.EndsWith($":{gap.Standby.Port}", route.Host, StringComparison.Ordinal);
        Assert.Null(dataSource.Monitor.Snapshot.Primary);
    }

    /// <summary>Two probe rounds after the read started, it is still waiting: neither a primary nor a replica can serve it.</summary>
    private static async Task AssertStillWaitingAsync(FailoverGap gap, Task read)
    {
        await gap.ReadOpened;
        var monitor = gap.DataSource.Monitor;
        var roundsAfter = monitor.PublishedRoundStartedAt;
        await WaitUntilAsync(() => Task.FromResult(monitor.PublishedRoundStartedAt > roundsAfter), "a probe round after the read started");
        roundsAfter = monitor.PublishedRoundStartedAt;
        await WaitUntilAsync(() => Task.FromResult(monitor.PublishedRoundStartedAt > roundsAfter), "a second probe round after the read started");
        Assert.False(read.IsCompleted, "The read should wait in the gap, not fail.");
    }

    /// <summary>
    /// A failover's gap that only the primary could serve a session's read in: the standby received the session's write
    /// but holds its replay back a minute (promotion cuts the delay short and replays everything received), the write's
    /// position is captured, and the primary is killed; returns once the data source knows no primary.
    /// </summary>
    private async Task<FailoverGap> StartGapAsync(TimeSpan maxWaitForPrimary)
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var (oldPrimary, standby) = (cluster.Primary, cluster.Replicas[0]);
        await standby.SetReplayDelayAsync(TimeSpan.FromMinutes(1), _ct);
        var dataSource = await CreateDataSourceAsync(cluster, b => b.Options.MaxWaitForPrimary = maxWaitForPrimary);
        var session = new ConsistencySession();
        await using (var connection = dataSource.CreateConnection(session))
        {
            await connection.OpenAsync(_ct);
            await connection.ExecuteAsync("INSERT INTO t VALUES (1)");
        }

        // Its position is captured (no capture left pending), and no replica has replayed it; the standby has received
        // everything the primary wrote before the primary dies (else nothing could ever catch up with it).
        Assert.NotNull(await dataSource.ExportSessionAsync(session, _ct));
        var written = await oldPrimary.ExecuteScalarAsync<NpgsqlTypes.NpgsqlLogSequenceNumber>("SELECT pg_current_wal_flush_lsn()", _ct);
        await WaitUntilAsync(
            async () => await standby.ExecuteScalarAsync<NpgsqlTypes.NpgsqlLogSequenceNumber>("SELECT pg_last_wal_receive_lsn()", _ct) >= written,
            "the standby to receive the primary's WAL");
        await oldPrimary.KillAsync(_ct);
        await WaitUntilAsync(() => Task.FromResult(dataSource.Monitor.Snapshot.Primary is null), "the data source to know no primary");
        return new FailoverGap(cluster, standby, dataSource, session);
    }

    /// <summary>Owns the data source; disposing it also ends a read still waiting (a failed test must not leave it behind).</summary>
    private sealed class FailoverGap(PostgresCluster cluster, PostgresNode standby, ReplicatedDataSource dataSource, ConsistencySession session) : IAsyncDisposable
    {
        private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stop = new();

        public PostgresCluster Cluster => cluster;

        public PostgresNode Standby => standby;

        public ReplicatedDataSource DataSource => dataSource;

        /// <summary>Completes once the read's connection is open, just before it is routed.</summary>
        public Task ReadOpened => _opened.Task;

        /// <summary>The session's read of its write, as a command or in a read-only transaction.</summary>
        public Task<(long Count, RouteInfo Route)> StartRead(bool readOnlyTransaction) => Task.Run(async () =>
        {
            await using var connection = dataSource.CreateConnection(session);
            await connection.OpenAsync(_stop.Token);
            _opened.SetResult();
            await using var transaction = readOnlyTransaction ? await connection.BeginReadOnlyTransactionAsync(cancellationToken: _stop.Token) : null;
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM t";
            command.Transaction = transaction;
            var count = (long)(await command.ExecuteScalarAsync(_stop.Token))!;
            return (count, command.LastRoute!.Value);
        }, CancellationToken.None);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await dataSource.DisposeAsync();
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task Without_traffic_a_lost_primary_switches_the_monitor_to_the_failover_cadence_until_the_promoted_one_is_found()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        var (oldPrimary, promoted) = (cluster.Primary, cluster.Replicas[0]);
        await using var dataSource = await CreateDataSourceAsync(cluster, b =>
        {
            b.Options.TopologyProbeInterval = TimeSpan.FromMilliseconds(500);
            b.Options.MaxProbeBackoff = TimeSpan.FromMinutes(5);
        });
        Assert.False(dataSource.Monitor.IsProbingFast);

        await oldPrimary.KillAsync(_ct);
        await WaitUntilAsync(() => Task.FromResult(dataSource.Monitor.Snapshot.Primary is null), "the monitor to lose the primary");
        Assert.True(dataSource.Monitor.IsProbingFast);

        // The dead host's backoff would keep it out of the regular rounds for minutes; the fast rounds probe every host.
        await cluster.PromoteAsync(promoted, _ct);
        await WaitUntilAsync(() => Task.FromResult(dataSource.Monitor.Snapshot.Primary?.Host.Endpoint.Port == promoted.Port), "the promoted primary to be found");
        await WaitUntilAsync(() => Task.FromResult(!dataSource.Monitor.IsProbingFast), "the regular cadence to resume once the primary is confirmed");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
