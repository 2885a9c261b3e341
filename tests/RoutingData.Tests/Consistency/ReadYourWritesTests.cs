using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Consistency;

/// <summary>Read-your-writes and monotonic reads under real replay lag (recovery_min_apply_delay on the replicas).</summary>
public sealed class ReadYourWritesTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_session_reads_its_own_write_while_the_replicas_lag_through_AdoNet_and_Dapper()
    {
        // 30 s of lag: far more than any stall of a busy machine between the write and the reads below.
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(30));
        await using var _ = dataSource;
        await using var connection = dataSource.CreateConnection();

        await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'mine')");
        Assert.Equal("mine", await connection.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = @k", new { k = 1 }));

        // Right after the write its position may still be pending (background capture) or known and not replayed.
        Assert.Contains(connection.LastRoute!.Value.Reason, new[] { RoutingReason.PositionPending, RoutingReason.NotCaughtUp });
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);

        await connection.OpenAsync(_ct);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT v FROM kv WHERE k = 1";
            Assert.Equal("mine", (string?)command.ExecuteScalar());
            Assert.Equal(HostRole.Primary, command.LastRoute!.Value.Role);
        }

        // Once the replicas have replayed the write, the same session reads from them again.
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(TimeSpan.Zero, _ct);
        }

        await WaitForReplicasToReplayAsync(cluster, dataSource, connection.ConsistencySession);
        Assert.Equal("mine", await connection.QuerySingleAsync<string>("SELECT v FROM kv WHERE k = 1"));
        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task An_exported_token_carries_read_your_writes_to_another_request_and_a_fresh_session_reads_stale()
    {
        var (_, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(5));
        await using var __ = dataSource;

        string token;
        await using (var request1 = dataSource.CreateConnection())
        {
            await request1.ExecuteAsync("INSERT INTO kv VALUES (2, 'carried')");
            token = dataSource.ExportSession(request1.ConsistencySession)!;
        }

        Assert.Matches(@"^\d+:1:[0-9A-F]+/[0-9A-F]+$", token); // system_identifier:timeline:LSN

        await using (var request2 = dataSource.CreateConnection(dataSource.ResumeSession(token)))
        {
            Assert.Equal("carried", await request2.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 2"));
            Assert.Equal(RoutingReason.NotCaughtUp, request2.LastRoute!.Value.Reason);
        }

        // Without the token, a read goes to a replica that has not replayed the write yet: the baseline behaviour.
        await using var stranger = dataSource.CreateConnection();
        Assert.Null(await stranger.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 2"));
        Assert.Equal(HostRole.Replica, stranger.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task A_committed_transaction_advances_the_token_with_its_commit()
    {
        var (_, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(30));
        await using var _ = dataSource;
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await connection.ExecuteScalarAsync<int>("SELECT 1");
        var before = (await dataSource.GetSessionTokenAsync(connection.ConsistencySession, _ct))!.Value.Lsn;

        await using (var transaction = await connection.BeginTransactionAsync(_ct))
        {
            await connection.ExecuteAsync("INSERT INTO kv VALUES (3, 'in-tx')", transaction: transaction);
            await transaction.CommitAsync(_ct);
        }

        Assert.True((await dataSource.GetSessionTokenAsync(connection.ConsistencySession, _ct))!.Value.Lsn > before);
        Assert.Equal("in-tx", await connection.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 3"));
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task A_replica_only_read_while_the_sessions_reader_on_the_primary_is_open_throws_instead_of_reading_the_primary()
    {
        var (_, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(30));
        await using var _ = dataSource;
        var session = new ConsistencySession();
        await using var writer = dataSource.CreateConnection(session);
        await writer.OpenAsync(_ct);
        await using var insert = writer.CreateCommand();
        insert.CommandText = "INSERT INTO kv VALUES (9, 'open') RETURNING v";

        // Until this reader closes, the session's position is unknown: what it wrote may have committed meanwhile.
        await using var reader = await insert.ExecuteReaderAsync(_ct);
        Assert.True(await reader.ReadAsync(_ct));

        await using var other = dataSource.CreateConnection(session);
        await other.OpenAsync(_ct);
        await using var read = other.CreateCommand();
        read.CommandText = "SELECT v FROM kv WHERE k = 9";
        read.ReadPreference = ReadPreference.Replica;
        var error = await Assert.ThrowsAsync<ReplicaNotCaughtUpException>(() => read.ExecuteScalarAsync(_ct));
        Assert.Contains("read preference Replica", error.Message, StringComparison.Ordinal);
        Assert.Null(read.LastRoute);

        // With the default preference the same read goes to the primary, which has everything the session did.
        read.ReadPreference = null;
        await read.ExecuteScalarAsync(_ct);
        Assert.Equal((HostRole.Primary, RoutingReason.PositionPending), (read.LastRoute!.Value.Role, read.LastRoute!.Value.Reason));
    }

    [Theory]
    [InlineData(LsnCaptureMode.Background)]
    [InlineData(LsnCaptureMode.SameRoundTrip)]
    public async Task The_token_is_captured_after_the_commit_record_and_a_capture_before_commit_would_not_be(LsnCaptureMode mode)
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync("CREATE EXTENSION pg_walinspect; CREATE TABLE kv (k int primary key, v text, x xid8)", _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.Options.LsnCapture = mode);
        await using var connection = dataSource.CreateConnection();

        var start = await cluster.Primary.ExecuteScalarAsync<NpgsqlTypes.NpgsqlLogSequenceNumber>("SELECT pg_current_wal_insert_lsn()", _ct);
        var xid = await connection.ExecuteScalarAsync<long>("INSERT INTO kv VALUES (1, 'a', pg_current_xact_id()) RETURNING x::text::bigint");

        // Same round trip: the token is there when the command returns. Background: the shared capture resolves it
        // (nothing here asks for it: this waits for the background reading alone).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (connection.ConsistencySession.Token is null && DateTime.UtcNow < deadline)
        {
            Assert.Equal(LsnCaptureMode.Background, mode);
            dataSource.ResolveSession(connection.ConsistencySession, dataSource.Monitor.Snapshot);
            await Task.Delay(1, _ct);
        }

        var token = connection.ConsistencySession.Token!.Value.Lsn;
        var commitEnd = await CommitRecordEndAsync(cluster, start, xid);
        Assert.True(token >= commitEnd, $"token {token} is behind the commit record, which ends at {commitEnd}");

        // The control: the same capture without the error barrier runs in the write's own transaction, before its
        // commit record exists. If RoutingData captured that way, the assertion above would fail.
        await using var raw = new NpgsqlConnection(cluster.Primary.ConnectionString);
        await raw.OpenAsync(_ct);
        await using var batch = new NpgsqlBatch(raw);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("INSERT INTO kv VALUES (2, 'b', pg_current_xact_id())"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_current_wal_insert_lsn(), pg_current_xact_id()::text::bigint"));
        NpgsqlTypes.NpgsqlLogSequenceNumber early;
        long rawXid;
        await using (var reader = await batch.ExecuteReaderAsync(_ct))
        {
            Assert.True(await reader.ReadAsync(_ct));
            (early, rawXid) = (reader.GetFieldValue<NpgsqlTypes.NpgsqlLogSequenceNumber>(0), reader.GetInt64(1));
        }

        Assert.True(early < await CommitRecordEndAsync(cluster, start, rawXid));
    }

    [Fact]
    public async Task A_misclassified_write_after_the_sessions_own_write_runs_exactly_once()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync(
            "CREATE TABLE kv (k int primary key, v text); CREATE TABLE hits (id int); CREATE FUNCTION hit() RETURNS int LANGUAGE sql AS $$ INSERT INTO hits VALUES (1); SELECT 1 $$;",
            _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);

        // 'hit' writes but is declared read-only: after the session's own write, the read waits for the write's position
        // and goes to the replica with a freshness check; the replica answers 25006 and the command is re-run on the
        // primary — once. From then on the text is known to write: it goes to the primary at once.
        await using var dataSource = await CreateDataSourceAsync(cluster, b =>
        {
            b.Options.ReadOnlyFunctions.Add("hit");
            b.Options.StaleReadPolicy = StaleReadPolicy.Wait;
            b.Options.MaxReadYourWritesWait = TimeSpan.FromSeconds(5);
        });
        for (var i = 0; i < 5; i++)
        {
            await using var connection = dataSource.CreateConnection();
            await connection.ExecuteAsync($"INSERT INTO kv VALUES ({i}, 'w')");
            Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT hit()"));
            Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
            Assert.Equal(i == 0 ? RoutingReason.ReadOnlyRetry : RoutingReason.SessionState, connection.LastRoute!.Value.Reason);
        }

        Assert.Equal(5L, await cluster.Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM hits", _ct));
    }

    [Fact]
    public async Task A_remote_apply_transaction_is_visible_on_the_synchronous_standby_when_commit_returns()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1, SynchronousReplicas = 1 });
        var standby = cluster.Replicas[0];
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        // Long enough that no stall between the commit and the check below can hide the delay; remote_apply waits it out.
        await standby.SetReplayDelayAsync(TimeSpan.FromSeconds(5), _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        // An ordinary commit returns once the standby has the WAL, not once it has applied it: not visible yet.
        await using (var plain = await connection.BeginTransactionAsync(_ct))
        {
            await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'plain')", transaction: plain);
            await plain.CommitAsync(_ct);
        }

        Assert.Equal(0L, await standby.ExecuteScalarAsync<long>("SELECT count(*) FROM kv WHERE k = 1", _ct));

        // remote_apply: the commit waits for the standby to apply it, so anyone reading the standby sees it.
        await using (var applied = await connection.BeginRemoteApplyTransactionAsync(cancellationToken: _ct))
        {
            await connection.ExecuteAsync("INSERT INTO kv VALUES (2, 'applied')", transaction: applied);
            Assert.Equal("remote_apply", await connection.ExecuteScalarAsync<string>("SHOW synchronous_commit", transaction: applied));
            await applied.CommitAsync(_ct);
        }

        Assert.Equal("applied", await standby.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 2", _ct));
    }

    [Fact]
    public async Task With_monotonic_reads_off_only_writes_advance_the_session()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.Zero, b => b.Options.MonotonicReads = false);
        await using var _ = dataSource;
        await using var connection = dataSource.CreateConnection();

        // A read leaves no position behind, even once every pending mark is resolved (with monotonic reads on, the
        // replica's position would become the session's token here).
        await connection.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 1");
        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
        Assert.Null(await dataSource.GetSessionTokenAsync(connection.ConsistencySession, _ct));

        await connection.ExecuteAsync("INSERT INTO kv VALUES (11, 'w')");
        var afterWrite = (await dataSource.GetSessionTokenAsync(connection.ConsistencySession, _ct))!.Value.Lsn;

        // More WAL from elsewhere, replayed everywhere: a read now sees a state past the session's write.
        await cluster.Primary.ExecuteAsync("INSERT INTO kv VALUES (12, 'other')", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        Assert.Equal("w", await connection.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 11"));
        Assert.Equal(afterWrite, (await dataSource.GetSessionTokenAsync(connection.ConsistencySession, _ct))!.Value.Lsn);
    }

    [Fact]
    public async Task Reads_are_monotonic_when_replicas_are_at_different_positions()
    {
        var (cluster, ahead, behind, _) = await OneReplicaAheadOneBehindAsync();
        await using var dataSource = await CreateDataSourceAsync(cluster);

        // A session that once read 'new' (from the replica that is ahead) never reads 'old' again, whichever
        // connection it uses: the paused replica is behind its token.
        var session = new ConsistencySession();
        var sawNew = false;
        for (var i = 0; i < 20; i++)
        {
            await using var connection = dataSource.CreateConnection(session);
            var value = await connection.QuerySingleAsync<string>("SELECT v FROM kv WHERE k = 5");
            if (sawNew)
            {
                Assert.Equal("new", value);
                Assert.NotEqual($"{behind.Address}:{behind.Port}", connection.LastRoute!.Value.Host);
            }

            sawNew |= value == "new";
            if (i % 5 == 4)
            {
                // A probe round after the reads resolves the session's replica mark to a position: from then on
                // the token itself (not the stickiness) keeps the session off the paused replica.
                await dataSource.RefreshTopologyAsync(_ct);
            }
        }

        Assert.True(sawNew);
        Assert.NotNull(session.Token);

        // The replica the session read from goes away: the session must not fall back to the one that is behind.
        await ahead.StopAsync(cancellationToken: _ct);
        await dataSource.RefreshTopologyAsync(_ct);
        Assert.False(dataSource.GetHosts().Single(h => h.Host.EndsWith($":{ahead.Port}", StringComparison.Ordinal)).TakesReads);
        for (var i = 0; i < 10; i++)
        {
            await using var connection = dataSource.CreateConnection(session);
            Assert.Equal("new", await connection.QuerySingleAsync<string>("SELECT v FROM kv WHERE k = 5"));
            Assert.NotEqual($"{behind.Address}:{behind.Port}", connection.LastRoute!.Value.Host);
        }
    }

    [Fact]
    public async Task A_replica_read_moves_to_another_replica_only_through_a_later_reading_of_the_first()
    {
        var (cluster, ahead, behind, updated) = await OneReplicaAheadOneBehindAsync();

        // Slow probes: nothing resolves the session's read of the replica that is ahead by itself.
        await using var dataSource = await CreateDataSourceAsync(cluster, b => (b.Options.TopologyProbeInterval, b.Options.MaxProbeBackoff) = (TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5)));
        ConsistencySession? session = null;
        for (var i = 0; i < 20 && session is null; i++)
        {
            var candidate = new ConsistencySession();
            await using var reader = dataSource.CreateConnection(candidate);
            reader.ReadPreference = ReadPreference.Replica;
            if (await reader.QuerySingleAsync<string>("SELECT v FROM kv WHERE k = 5") == "new")
            {
                Assert.Equal($"{ahead.Address}:{ahead.Port}", reader.LastRoute!.Value.Host);
                session = candidate;
            }
        }

        Assert.NotNull(session);

        // The session saw 'new' on `ahead` and its position is not known yet: every read stays on `ahead`, never on
        // the paused replica (which the load balancer would pick half of the time otherwise).
        for (var i = 0; i < 10; i++)
        {
            await using var connection = dataSource.CreateConnection(session);
            Assert.Equal("new", await connection.QuerySingleAsync<string>("SELECT v FROM kv WHERE k = 5"));
            Assert.Equal($"{ahead.Address}:{ahead.Port}", connection.LastRoute!.Value.Host);
        }

        // Exported, the token carries the replica's position (read from it on the spot) to another process.
        var token = await dataSource.ExportSessionAsync(session, _ct);
        var resumed = dataSource.ResumeSession(token);
        Assert.True(resumed.Token!.Value.Lsn >= updated, $"{resumed.Token} is behind the update at {updated}");
        for (var i = 0; i < 6; i++)
        {
            await using var connection = dataSource.CreateConnection(resumed);
            Assert.Equal("new", await connection.QuerySingleAsync<string>("SELECT v FROM kv WHERE k = 5"));
        }
    }

    [Fact]
    public async Task The_wait_policy_waits_for_a_replica_and_the_throw_policy_throws()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.FromMilliseconds(400), b =>
        {
            b.Options.StaleReadPolicy = StaleReadPolicy.Wait;
            b.Options.MaxReadYourWritesWait = TimeSpan.FromSeconds(10);
        });
        await using var _ = dataSource;
        await using var connection = dataSource.CreateConnection();

        await connection.ExecuteAsync("INSERT INTO kv VALUES (6, 'waited')");
        Assert.Equal("waited", await connection.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 6"));

        // Waited for it — or, on a machine that stalled past the 400 ms lag, found it caught up already: a replica either way.
        Assert.Contains(connection.LastRoute!.Value.Reason, new[] { RoutingReason.WaitedForReplica, RoutingReason.ClassifiedRead });
        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);

        // Per scope: throw instead of waiting, while the replicas lag far behind.
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(TimeSpan.FromMinutes(5), _ct);
        }

        await connection.ExecuteAsync("INSERT INTO kv VALUES (7, 'fresh')");
        using (ConsistencyScope.Begin(connection.ConsistencySession, StaleReadPolicy.Throw))
        {
            var error = await Assert.ThrowsAsync<ReplicaNotCaughtUpException>(() => connection.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 7"));
            Assert.Contains("policy Throw", error.Message, StringComparison.Ordinal);
        }

        // Per command: fall back to the primary.
        await connection.OpenAsync(_ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT v FROM kv WHERE k = 7";
        command.StaleReadPolicy = StaleReadPolicy.FallbackToPrimary;
        Assert.Equal("fresh", (string?)await command.ExecuteScalarAsync(_ct));
        Assert.Equal(RoutingReason.NotCaughtUp, command.LastRoute!.Value.Reason);
    }

    [Fact]
    public async Task An_ambient_scope_and_a_DI_scope_share_one_session_across_connections()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(5));
        await using var _ = dataSource;

        using (ConsistencyScope.Begin())
        {
            await using (var writer = dataSource.CreateConnection())
            {
                await writer.ExecuteAsync("INSERT INTO kv VALUES (8, 'scoped')");
            }

            await using var reader = dataSource.CreateConnection();
            Assert.Equal("scoped", await reader.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 8"));
        }

        var services = new ServiceCollection();
        services.AddReplicatedDb(cluster.ConnectionString);
        await using var provider = services.BuildServiceProvider();
        await using (var scope = provider.CreateAsyncScope())
        {
            var first = scope.ServiceProvider.GetRequiredService<System.Data.Common.DbConnection>();
            var second = scope.ServiceProvider.GetRequiredService<System.Data.Common.DbConnection>();
            Assert.Same(((RoutedConnection)first).ConsistencySession, ((RoutedConnection)second).ConsistencySession);
            await first.ExecuteAsync("INSERT INTO kv VALUES (9, 'request')");
            Assert.Equal("request", await second.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 9"));
            await first.DisposeAsync();
            await second.DisposeAsync();
        }

        await using var otherScope = provider.CreateAsyncScope();
        var other = (RoutedConnection)otherScope.ServiceProvider.GetRequiredService<System.Data.Common.DbConnection>();
        Assert.Null(other.ConsistencySession.Token);
        await other.DisposeAsync();
    }

    [Fact]
    public async Task Bad_tokens_are_rejected_with_the_reason_or_ignored_by_choice()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.Zero, b => b.Options.TokenSigningKey = new string('k', 40));
        await using var _ = dataSource;
        await using var connection = dataSource.CreateConnection();
        await connection.ExecuteAsync("INSERT INTO kv VALUES (10, 'x')");
        var signed = dataSource.ExportSession(connection.ConsistencySession)!;
        Assert.Contains('.', signed);
        Assert.NotNull(dataSource.ResumeSession(signed).Token);

        Assert.Contains("not of the form", Assert.Throws<ConsistencyTokenException>(() => dataSource.ResumeSession("garbage")).Message, StringComparison.Ordinal);
        Assert.Contains("not signed", Assert.Throws<ConsistencyTokenException>(() => dataSource.ResumeSession(signed.Split('.')[0])).Message, StringComparison.Ordinal);
        var forged = signed.Split('.')[0].Replace(":0/", ":7/", StringComparison.Ordinal) + "." + signed.Split('.')[1];
        Assert.Contains("signature does not match", Assert.Throws<ConsistencyTokenException>(() => dataSource.ResumeSession(forged)).Message, StringComparison.Ordinal);

        // Tokens that parse but cannot belong here are refused when used: another cluster, or far ahead of the primary.
        await using var unsigned = await CreateDataSourceAsync(cluster);
        var systemId = await cluster.Primary.GetSystemIdentifierAsync(_ct);
        // Another cluster's token is refused as soon as it is resumed (the topology is known), even at position 0/0.
        foreach (var foreignToken in new[] { "12345:0/1000", "123:0/0" })
        {
            var error = Assert.Throws<ConsistencyTokenException>(() => unsigned.ResumeSession(foreignToken));
            Assert.Contains(foreignToken.Split(':')[0], error.Message, StringComparison.Ordinal);
            Assert.Contains(systemId.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        }

        await using (var ahead = unsigned.CreateConnection(unsigned.ResumeSession($"{systemId}:FF/0")))
        {
            var error = await Assert.ThrowsAsync<ConsistencyTokenException>(() => ahead.QuerySingleAsync<int>("SELECT 1"));
            Assert.Contains("ahead of the primary", error.Message, StringComparison.Ordinal);
        }

        await using var lenient = await CreateDataSourceAsync(cluster, b => b.Options.InvalidTokenHandling = InvalidTokenHandling.Ignore);
        Assert.Null(lenient.ResumeSession("garbage").Token);
        Assert.Null(lenient.ResumeSession("123:0/5").Token);
        await using var ignored = lenient.CreateConnection(lenient.ResumeSession($"{systemId}:FF/0"));
        Assert.Equal(1, await ignored.QuerySingleAsync<int>("SELECT 1"));
        Assert.Equal(HostRole.Replica, ignored.LastRoute!.Value.Role);
    }

    private async Task<(PostgresCluster Cluster, ReplicatedDataSource DataSource)> LaggingClusterAsync(TimeSpan delay, Action<ReplicatedDataSourceBuilder>? configure = null)
    {
        // The read-your-writes suite runs over SCRAM-SHA-256 and TLS, as production clusters do.
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2, Authentication = ClusterAuthentication.ScramSha256, UseTls = true });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(delay, _ct);
        }

        return (cluster, await CreateDataSourceAsync(cluster, configure));
    }

    /// <summary>k = 5 is 'new' on the primary and on `ahead`, still 'old' on `behind` (replay paused); `updated` is past the update.</summary>
    private async Task<(PostgresCluster Cluster, PostgresNode Ahead, PostgresNode Behind, NpgsqlTypes.NpgsqlLogSequenceNumber Updated)> OneReplicaAheadOneBehindAsync()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text); INSERT INTO kv VALUES (5, 'old')", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var (ahead, behind) = (cluster.Replicas[0], cluster.Replicas[1]);
        await behind.ExecuteAsync("SELECT pg_wal_replay_pause()", _ct);
        await cluster.Primary.ExecuteAsync("UPDATE kv SET v = 'new' WHERE k = 5", _ct);
        var updated = await cluster.Primary.GetLsnAsync(_ct);
        await ahead.WaitForReplayAsync(updated, TimeSpan.FromSeconds(30), _ct);
        return (cluster, ahead, behind, updated);
    }

    private async Task WaitForReplicasToReplayAsync(PostgresCluster cluster, ReplicatedDataSource dataSource, ConsistencySession session)
    {
        var token = (await dataSource.GetSessionTokenAsync(session, _ct))!.Value;
        foreach (var replica in cluster.Replicas)
        {
            await replica.WaitForReplayAsync(token.Lsn, TimeSpan.FromSeconds(30), _ct);
        }
    }

    private async Task<NpgsqlTypes.NpgsqlLogSequenceNumber> CommitRecordEndAsync(PostgresCluster cluster, NpgsqlTypes.NpgsqlLogSequenceNumber start, long xid) =>
        await cluster.Primary.ExecuteScalarAsync<NpgsqlTypes.NpgsqlLogSequenceNumber>(
            $"SELECT end_lsn FROM pg_get_wal_records_info('{start}', pg_current_wal_insert_lsn()) WHERE resource_manager = 'Transaction' AND record_type = 'COMMIT' AND xid::text = '{xid}'",
            _ct);
}
