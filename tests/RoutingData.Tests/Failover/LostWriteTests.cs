using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Failover;

/// <summary>
/// Sessions across an asynchronous failover, on real clusters: a token carries its timeline, and positions of two
/// timelines are compared through the point where the promoted standby's timeline forked off. What the standby had
/// survives and the session moves on; what it never received is reported as lost to the session's next command —
/// in this process or in another one that resumes the token — and never read from the fork of a split brain.
/// </summary>
public sealed class LostWriteTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(LostWritesPolicy.Throw)]
    [InlineData(LostWritesPolicy.Ignore)]
    public async Task A_write_the_promoted_standby_never_received_is_reported_to_the_sessions_next_command(LostWritesPolicy policy)
    {
        var cluster = await ClusterWithTableAsync(replicas: 1);
        var (oldPrimary, promoted) = (cluster.Primary, cluster.Replicas[0]);
        using var events = new Events();
        await using var dataSource = await CreateDataSourceAsync(cluster, b =>
        {
            b.Options.LostWritesPolicy = policy;
            b.UseLoggerFactory(events.LoggerFactory);
        });
        var session = new ConsistencySession();
        var raised = new List<SessionWritesLostException>();
        session.WritesLost += (_, report) => raised.Add(report);

        await using (var connection = dataSource.CreateConnection(session))
        {
            await connection.ExecuteAsync("INSERT INTO t VALUES (1)");
            await WaitForSessionAsync(cluster, dataSource, session);

            // The standby stops getting WAL (its connection stays up): the next write never reaches it.
            await cluster.StallWalStreamAsync(promoted, _ct);
            await connection.ExecuteAsync("INSERT INTO t VALUES (2)");
        }

        var before = (await dataSource.GetSessionTokenAsync(session, _ct))!.Value;
        Assert.Equal(1, before.Timeline);
        await oldPrimary.KillAsync(_ct);
        await cluster.PromoteAsync(promoted, _ct);
        await WaitForPrimaryAsync(dataSource, promoted, timeline: 2);
        Assert.Equal(1L, await promoted.ExecuteScalarAsync<long>("SELECT count(*) FROM t", _ct));

        await using var next = dataSource.CreateConnection(session);
        if (policy == LostWritesPolicy.Throw)
        {
            var error = await Assert.ThrowsAsync<SessionWritesLostException>(() => next.ExecuteAsync("INSERT INTO t VALUES (3)"));
            Assert.Equal(before, error.Token);
            Assert.Equal(2, error.NewTimeline);
            Assert.True(error.ForkPoint < before.Lsn, $"fork point {error.ForkPoint}, token {before}");
            Assert.Contains($"writes after {error.ForkPoint} on timeline 1 were lost in a failover", error.Message, StringComparison.Ordinal);
            Assert.Contains("nothing was sent again", error.Message, StringComparison.Ordinal);
            Assert.Same(error, session.LostWrites);

            // The command that was told was not sent; told once, the session goes on.
            Assert.Equal(1L, await promoted.ExecuteScalarAsync<long>("SELECT count(*) FROM t", _ct));
        }

        await next.ExecuteAsync("INSERT INTO t VALUES (3)");
        Assert.Equal([1, 3], await next.QueryAsync<int>("SELECT id FROM t ORDER BY id"));
        Assert.Equal(2, session.Token!.Value.Timeline);
        Assert.Equal(2, session.LostWrites!.NewTimeline);
        Assert.Equal([session.LostWrites], raised);
        Assert.Equal(1, events.Count(RoutingDataEventId.SessionWritesLost));
        if (policy == LostWritesPolicy.Ignore)
        {
            // Only this test loses writes under Ignore: other tests running meanwhile cannot add to this count.
            Assert.Equal(1L, events.LostWritesIgnored);
        }
    }

    [Fact]
    public async Task A_write_the_standby_had_before_its_promotion_survives_and_reads_go_to_replicas_of_the_new_timeline()
    {
        var cluster = await ClusterWithTableAsync(replicas: 2);
        var (oldPrimary, promoted, follower) = (cluster.Primary, cluster.Replicas[0], cluster.Replicas[1]);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        var session = new ConsistencySession();
        await using (var connection = dataSource.CreateConnection(session))
        {
            await connection.ExecuteAsync("INSERT INTO t VALUES (1)");
        }

        await WaitForSessionAsync(cluster, dataSource, session);
        var before = session.Token!.Value;
        Assert.Equal(1, before.Timeline);

        // A clean switchover: every standby has all of the old primary's WAL.
        await oldPrimary.StopAsync(ShutdownMode.Fast, _ct);
        await cluster.PromoteAsync(promoted, _ct);
        await cluster.RepointAsync(follower, promoted, _ct);
        await WaitForPrimaryAsync(dataSource, promoted, timeline: 2);

        await using var next = dataSource.CreateConnection(session);
        Assert.Equal(1, await next.ExecuteScalarAsync<int>("SELECT id FROM t"));
        Assert.Null(session.LostWrites);
        Assert.Equal(2, session.Token!.Value.Timeline);
        Assert.True(session.Token.Value.Lsn >= before.Lsn, $"{session.Token} is behind {before}");

        // The standby that follows the new primary is comparable again: the session's reads go there.
        await WaitUntilAsync(
            async () =>
            {
                var (port, inRecovery) = await WhereAsync(next);
                Assert.NotEqual(oldPrimary.Port, port);
                return port == follower.Port && inRecovery;
            },
            "a read of the session on the standby of timeline 2");
        Assert.Null(session.LostWrites);
    }

    [Fact]
    public async Task Tokens_exported_before_the_failover_are_checked_by_another_data_source_after_it()
    {
        var cluster = await ClusterWithTableAsync(replicas: 1);
        var (oldPrimary, promoted) = (cluster.Primary, cluster.Replicas[0]);
        const string Key = "the-signing-key-of-both-processes-0123456789";
        string survivedToken, lostToken;
        await using (var before = await CreateDataSourceAsync(cluster, b => b.Options.TokenSigningKey = Key))
        {
            await using var survived = before.CreateConnection();
            await survived.ExecuteAsync("INSERT INTO t VALUES (1)");
            await WaitForSessionAsync(cluster, before, survived.ConsistencySession);
            survivedToken = (await before.ExportSessionAsync(survived.ConsistencySession, _ct))!;

            await cluster.StallWalStreamAsync(promoted, _ct);
            await using var lost = before.CreateConnection();
            await lost.ExecuteAsync("INSERT INTO t VALUES (2)");
            lostToken = (await before.ExportSessionAsync(lost.ConsistencySession, _ct))!;
        }

        var systemIdentifier = await promoted.GetSystemIdentifierAsync(_ct);
        Assert.StartsWith($"{systemIdentifier}:1:", lostToken, StringComparison.Ordinal);
        await oldPrimary.KillAsync(_ct);
        await cluster.PromoteAsync(promoted, _ct);

        // Another process, started after the failover: it never saw timeline 1's primary.
        await using var after = await CreateDataSourceAsync(cluster, b => b.Options.TokenSigningKey = Key);
        await WaitForPrimaryAsync(after, promoted, timeline: 2);

        await using (var connection = after.CreateConnection(after.ResumeSession(survivedToken)))
        {
            Assert.Equal(1L, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM t"));
            Assert.Null(connection.ConsistencySession.LostWrites);
            Assert.Equal(2, connection.ConsistencySession.Token!.Value.Timeline);
        }

        var resumed = after.ResumeSession(lostToken);
        await using (var connection = after.CreateConnection(resumed))
        {
            var error = await Assert.ThrowsAsync<SessionWritesLostException>(() => connection.ExecuteScalarAsync<long>("SELECT count(*) FROM t"));
            Assert.Equal(lostToken.Split('.')[0], error.Token.ToString());
            Assert.Equal(2, error.NewTimeline);
            Assert.Equal(1L, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM t"));
        }

        // Exported again, the session's token is on the new timeline and nothing more is reported.
        var moved = (await after.ExportSessionAsync(resumed, _ct))!;
        Assert.StartsWith($"{systemIdentifier}:2:", moved, StringComparison.Ordinal);
        await using (var connection = after.CreateConnection(after.ResumeSession(moved)))
        {
            Assert.Equal(1L, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM t"));
            Assert.Null(connection.ConsistencySession.LostWrites);
        }
    }

    [Fact]
    public async Task In_a_split_brain_sessions_never_read_the_fork_and_writes_made_there_are_reported_lost()
    {
        var cluster = await ClusterWithTableAsync(replicas: 2);
        var (oldPrimary, promoted, orphan) = (cluster.Primary, cluster.Replicas[0], cluster.Replicas[1]);
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.Options.MaxWaitForPrimary = TimeSpan.FromSeconds(1));

        // The primary dies, a standby is promoted (timeline 2) and seen; the old primary comes back writable on timeline 1,
        // with the other standby still following it.
        await oldPrimary.KillAsync(_ct);
        await cluster.PromoteAsync(promoted, _ct);
        await WaitForPrimaryAsync(dataSource, promoted, timeline: 2);
        await cluster.StartAsSplitBrainPrimaryAsync(oldPrimary, _ct);
        await WaitUntilAsync(
            async () =>
            {
                await dataSource.RefreshTopologyAsync(_ct);
                return dataSource.GetHosts().Count(h => h.Role == HostRole.Primary) == 2 && dataSource.GetHosts().All(h => h.Health == HostHealth.Healthy);
            },
            "both primaries and the orphaned standby to answer probes");

        // A process that only knows the old primary and its standby writes there: past the fork point, on timeline 1.
        var forkOnly = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Host = $"127.0.0.1:{oldPrimary.Port},127.0.0.1:{orphan.Port}" };
        string forkToken;
        await using (var stale = await CreateDataSourceAsync(forkOnly.ConnectionString))
        {
            await using var connection = stale.CreateConnection();
            Assert.Equal(oldPrimary.Port, await connection.ExecuteScalarAsync<int>("INSERT INTO t VALUES (99) RETURNING inet_server_port()"));
            forkToken = (await stale.ExportSessionAsync(connection.ConsistencySession, _ct))!;
        }

        Assert.Contains(":1:", forkToken, StringComparison.Ordinal);

        // A session of the newest timeline reads only there: never the old primary or its standby.
        var newest = new ConsistencySession();
        await using (var connection = dataSource.CreateConnection(newest))
        {
            Assert.Equal(promoted.Port, await connection.ExecuteScalarAsync<int>("INSERT INTO t VALUES (2) RETURNING inet_server_port()"));
            for (var i = 0; i < 10; i++)
            {
                var (port, _) = await WhereAsync(connection);
                Assert.Equal(promoted.Port, port);
            }
        }

        Assert.Equal(2, newest.Token!.Value.Timeline);
        var newestToken = dataSource.ExportSession(newest);

        // The fork's writes are not the new primary's: the session is told, not served from the fork.
        await AssertForkWriteReportedAsync(dataSource, forkToken);

        // The new primary misses probes: the fork still takes nothing, and what is known of the fork point stays.
        await promoted.StopAsync(ShutdownMode.Immediate, _ct);
        await dataSource.RefreshTopologyAsync(_ct);
        Assert.Null(dataSource.Monitor.Snapshot.Primary);
        await using (var connection = dataSource.CreateConnection(newest))
        {
            await Assert.ThrowsAsync<NoSuitableHostException>(() => connection.ExecuteScalarAsync<int>("SELECT inet_server_port()"));
        }

        await AssertForkWriteReportedAsync(dataSource, forkToken);

        // A process that never saw timeline 2 waits for it, bounded, then refuses the read: every host it knows is on the
        // fork, and the old primary there cannot have the session's writes.
        await using var unaware = await CreateDataSourceAsync(cluster, b => b.Options.MaxWaitForPrimary = TimeSpan.FromSeconds(1));
        Assert.Equal(1, unaware.Monitor.Snapshot.Primary?.Timeline);
        await using (var connection = unaware.CreateConnection(unaware.ResumeSession(newestToken)))
        {
            var error = await Assert.ThrowsAsync<ReplicaNotCaughtUpException>(() => connection.ExecuteScalarAsync<int>("SELECT inet_server_port()"));
            Assert.Contains("is on timeline 2, but no primary newer than timeline 1 has been seen here", error.Message, StringComparison.Ordinal);
            Assert.Null(connection.LastRoute?.Host);

            // Waited once: the next read of the session is refused at once.
            var started = DateTime.UtcNow;
            await Assert.ThrowsAsync<ReplicaNotCaughtUpException>(() => connection.ExecuteScalarAsync<int>("SELECT inet_server_port()"));
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(0.9), "the second read waited again");
        }

        async Task AssertForkWriteReportedAsync(ReplicatedDataSource where, string token)
        {
            await using var connection = where.CreateConnection(where.ResumeSession(token));
            var error = await Assert.ThrowsAsync<SessionWritesLostException>(() => connection.ExecuteScalarAsync<long>("SELECT count(*) FROM t"));
            Assert.Equal(1, error.Token.Timeline);
            Assert.Equal(2, error.NewTimeline);
            Assert.True(error.ForkPoint < error.Token.Lsn, $"fork point {error.ForkPoint}, token {error.Token}");
        }
    }

    [Fact]
    public async Task Without_permission_to_read_the_history_a_session_from_the_old_timeline_reads_the_primary_until_it_moves_on()
    {
        var cluster = await ClusterWithTableAsync(replicas: 2, "CREATE ROLE app LOGIN; GRANT pg_monitor TO app; GRANT ALL ON t TO app");
        var (oldPrimary, promoted, follower) = (cluster.Primary, cluster.Replicas[0], cluster.Replicas[1]);
        using var events = new Events();

        // pg_monitor sees the standbys' WAL receivers, but only a superuser or pg_read_server_files may read pg_wal.
        var asApp = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Username = "app" }.ConnectionString;
        await using var dataSource = await CreateDataSourceAsync(asApp, b => b.UseLoggerFactory(events.LoggerFactory));
        var session = new ConsistencySession();
        await using (var connection = dataSource.CreateConnection(session))
        {
            await connection.ExecuteAsync("INSERT INTO t VALUES (1)");
        }

        await WaitForSessionAsync(cluster, dataSource, session);
        var oldToken = dataSource.ExportSession(session);
        await oldPrimary.StopAsync(ShutdownMode.Fast, _ct);
        await cluster.PromoteAsync(promoted, _ct);
        await cluster.RepointAsync(follower, promoted, _ct);
        await WaitForPrimaryAsync(dataSource, promoted, timeline: 2);
        Assert.Contains("pg_read_server_files", dataSource.Monitor.Snapshot.Timelines?.Problem, StringComparison.Ordinal);
        Assert.Null(dataSource.Monitor.Snapshot.ForkPoint(1));

        // Its position cannot be shown to be on timeline 2, so no standby can be shown to have it: the primary serves it.
        var other = dataSource.ResumeSession(oldToken);
        foreach (var waiting in new[] { session, other })
        {
            await using var connection = dataSource.CreateConnection(waiting);
            Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT id FROM t"));
            Assert.Equal(RoutingReason.PositionPending, connection.LastRoute!.Value.Reason);
            Assert.EndsWith($":{promoted.Port}", connection.LastRoute.Value.Host, StringComparison.Ordinal);
            Assert.Null(waiting.LostWrites);
        }

        Assert.Equal(1, events.Count(RoutingDataEventId.TimelineHistoryUnreadable));
        Assert.Equal(1, events.Count(RoutingDataEventId.ForkPointUnknown));

        // A replica-only read of such a session never falls back to the primary: it is refused, nothing sent, and told why.
        await using (var connection = dataSource.CreateConnection(dataSource.ResumeSession(oldToken)))
        {
            connection.ReadPreference = ReadPreference.Replica;
            var refused = await Assert.ThrowsAsync<ReplicaNotCaughtUpException>(() => connection.ExecuteScalarAsync<int>("SELECT id FROM t"));
            Assert.Contains("fork point", refused.Message, StringComparison.Ordinal);
            Assert.Null(connection.LastRoute);
        }

        // The first session's read on the primary (above) put it on timeline 2: its reads go to the standby that follows it again.
        Assert.Equal(2, session.Token!.Value.Timeline);
        await using (var connection = dataSource.CreateConnection(session))
        {
            await WaitUntilAsync(
                async () =>
                {
                    var (port, inRecovery) = await WhereAsync(connection);
                    return port == follower.Port && inRecovery;
                },
                "a read of the moved session on the standby of timeline 2");
        }

        Assert.Equal(1, events.Count(RoutingDataEventId.ForkPointUnknown));
    }

    /// <summary>A dedicated cluster with a table <c>t (id int)</c> that every standby has.</summary>
    private async Task<PostgresCluster> ClusterWithTableAsync(int replicas, string? moreSql = null)
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = replicas });
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int); " + moreSql, _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        return cluster;
    }

    private static Task WaitForPrimaryAsync(ReplicatedDataSource dataSource, PostgresNode node, int timeline) =>
        WaitUntilAsync(
            () => Task.FromResult(dataSource.Monitor.Snapshot.Primary is { } primary && primary.Host.Endpoint.Port == node.Port && primary.Timeline == timeline),
            $"{node.Name} to be seen as the primary of timeline {timeline}");

    /// <summary>RoutingData's log events by id, and the <c>routingdata.lost_writes</c> measurements by policy.</summary>
    private sealed class Events : ILoggerProvider
    {
        private readonly ConcurrentQueue<EventId> _events = new();
        private readonly ConcurrentDictionary<string, long> _lostWrites = new();
        private readonly MeterListener _meter = new();

        public Events()
        {
            LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(this));
            _meter.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RoutingDiagnostics.MeterName && instrument.Name == "routingdata.lost_writes")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _meter.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    _lostWrites.AddOrUpdate($"{tag.Value}", value, (_, sum) => sum + value);
                }
            });
            _meter.Start();
        }

        public ILoggerFactory LoggerFactory { get; }

        public int Count(int eventId) => _events.Count(e => e.Id == eventId);

        public long LostWritesIgnored => _lostWrites.GetValueOrDefault(nameof(LostWritesPolicy.Ignore));

        // Npgsql's own event ids overlap RoutingData's ranges: only RoutingData's loggers count (not Npgsql's entries
        // for RoutingData's internal connections, which go under RoutingData.Internal.).
        public ILogger CreateLogger(string categoryName) =>
            categoryName.StartsWith("RoutingData", StringComparison.Ordinal) && !categoryName.StartsWith("RoutingData.Internal.", StringComparison.Ordinal)
                ? new Logger(this)
                : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Dispose()
        {
            _meter.Dispose();
            LoggerFactory.Dispose();
        }

        private sealed class Logger(Events events) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                events._events.Enqueue(eventId);
        }
    }
}
