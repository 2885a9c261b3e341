using System.Data;
using Dapper;
using Npgsql;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Guarantees;

/// <summary>
/// Regression tests for the ways an adversarial review broke the guarantees at their edges: each scenario ran on a real
/// cluster and broke read-your-writes or session state before its fix.
/// </summary>
public sealed class EdgeGuaranteeTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_statement_a_standby_refuses_is_a_write_from_then_on()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(30));
        await using var _ = dataSource;
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        // The view hides a VOLATILE function that writes: the text looks like a read, a replica refuses it (25006).
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT n FROM audited"));
        Assert.Equal(RoutingReason.ReadOnlyRetry, connection.LastRoute!.Value.Reason);
        Assert.Equal(1L, await cluster.Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM audit", _ct));

        // It wrote: the session must wait for its position like after any write. Another connection of the same session
        // (the replicas are 30 s behind) sees the row; before the fix the token came from before the commit and a
        // replica that had replayed up to the commit record counted as caught up.
        await using (var other = await dataSource.OpenConnectionAsync(_ct))
        {
            other.ConsistencySession = connection.ConsistencySession;
            Assert.Equal(1L, await other.ExecuteScalarAsync<long>("SELECT count(*) FROM audit"));
            Assert.Equal(HostRole.Primary, other.LastRoute!.Value.Role);
        }

        // It may also have left session state: the connection stays on the primary.
        Assert.True(connection.IsPinnedToPrimary);

        // And the text is remembered: a new connection sends it to the primary at once, no replica sees it again.
        await using var fresh = await dataSource.OpenConnectionAsync(_ct);
        Assert.Equal(2, await fresh.ExecuteScalarAsync<int>("SELECT n FROM audited"));
        Assert.Equal(RoutingReason.SessionState, fresh.LastRoute!.Value.Reason);
        Assert.Contains("25006", fresh.LastRoute!.Value.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_read_on_the_primary_that_secretly_writes_moves_the_session_like_a_write()
    {
        var (_, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(30), b => b.Options.MonotonicReads = false);
        await using var _ = dataSource;
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        connection.ReadPreference = ReadPreference.Primary;

        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT n FROM audited"));
        Assert.Equal(RoutingReason.ReadPreference, connection.LastRoute!.Value.Reason);
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);

        // Even without monotonic reads: the capture saw the read's transaction write, so the session waits for it.
        await using var other = await dataSource.OpenConnectionAsync(_ct);
        other.ConsistencySession = connection.ConsistencySession;
        Assert.Equal(1L, await other.ExecuteScalarAsync<long>("SELECT count(*) FROM audit"));
        Assert.Equal(HostRole.Primary, other.LastRoute!.Value.Role);

        // A read that really only reads does not move a session without monotonic reads: it still reads replicas.
        await using var reader = await dataSource.OpenConnectionAsync(_ct);
        reader.ReadPreference = ReadPreference.Primary;
        await reader.ExecuteScalarAsync<int>("SELECT 1");
        await using var follower = await dataSource.OpenConnectionAsync(_ct);
        follower.ConsistencySession = reader.ConsistencySession;
        await follower.ExecuteScalarAsync<int>("SELECT 1");
        Assert.Equal(HostRole.Replica, follower.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task Session_state_made_by_functions_DO_and_SELECT_INTO_pins_the_connection()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.Zero);
        await using var _ = dataSource;
        await cluster.Primary.ExecuteAsync(
            "CREATE FUNCTION set_tenant(t int) RETURNS void LANGUAGE sql AS $$ SELECT set_config('app.tenant', t::text, false) $$",
            _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await dataSource.RefreshTopologyAsync(_ct);

        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            await connection.ExecuteAsync("SELECT set_tenant(42)");
            Assert.Equal(RoutingReason.SessionState, connection.LastRoute!.Value.Reason);
            Assert.Equal("42", await connection.ExecuteScalarAsync<string>("SELECT current_setting('app.tenant', true)"));
            Assert.Equal(RoutingReason.SessionPinned, connection.LastRoute!.Value.Reason);
        }

        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            await connection.ExecuteAsync("SELECT 7 AS a INTO TEMP tmp_into");
            Assert.Equal(RoutingReason.SessionState, connection.LastRoute!.Value.Reason);
            Assert.Equal(7, await connection.ExecuteScalarAsync<int>("SELECT a FROM tmp_into"));
        }

        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            await connection.ExecuteAsync("DO $$ BEGIN CREATE TEMP TABLE tmp_do AS SELECT 8 AS a; END $$");
            Assert.Equal(RoutingReason.SessionState, connection.LastRoute!.Value.Reason);
            Assert.Equal(8, await connection.ExecuteScalarAsync<int>("SELECT a FROM tmp_do"));
        }
    }

    [Fact]
    public async Task Session_state_in_a_read_only_transaction_on_a_replica_is_refused_before_it_runs()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.Zero);
        await using var _ = dataSource;
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        var zoneBefore = await cluster.Primary.ExecuteScalarAsync<string>("SHOW TimeZone", _ct);

        await using (var transaction = await connection.BeginReadOnlyTransactionAsync(cancellationToken: _ct))
        {
            Assert.Equal(HostRole.Replica, transaction.Role);
            foreach (var sql in new[] { "SET TIME ZONE 'Asia/Tokyo'", "PREPARE p AS SELECT 1", "SELECT pg_try_advisory_lock(777)" })
            {
                var error = await Assert.ThrowsAsync<InvalidOperationException>(() => connection.ExecuteAsync(sql, transaction: transaction));
                Assert.Contains("read-only transaction on replica", error.Message, StringComparison.Ordinal);
            }

            // Nothing was sent: the transaction is still usable.
            Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT 1", transaction: transaction));
            await transaction.CommitAsync(_ct);
        }

        Assert.False(connection.IsPinnedToPrimary);
        Assert.NotEqual("Asia/Tokyo", await connection.ExecuteScalarAsync<string>("SHOW TimeZone"));
        Assert.Equal(zoneBefore, await connection.ExecuteScalarAsync<string>("SHOW TimeZone"));
        foreach (var replica in cluster.Replicas)
        {
            Assert.Equal(0L, await replica.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", _ct));
        }

        // On the primary the same statements are allowed, and pin.
        await using (var transaction = await connection.BeginReadOnlyTransactionAsync(readPreference: ReadPreference.Primary, cancellationToken: _ct))
        {
            await connection.ExecuteAsync("SET TIME ZONE 'Asia/Tokyo'", transaction: transaction);
            await transaction.CommitAsync(_ct);
        }

        Assert.True(connection.IsPinnedToPrimary);
        Assert.Equal("Asia/Tokyo", await connection.ExecuteScalarAsync<string>("SHOW TimeZone"));
    }

    [Fact]
    public async Task A_replica_whose_WAL_stream_stalls_silently_leaves_the_read_set()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE ticks (at timestamptz)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.Options.MaxReplicaLag = TimeSpan.FromSeconds(1));
        var stalled = cluster.Replicas[0];
        await WaitUntilAsync(() => IsEligible(dataSource, stalled), "both replicas eligible at first");

        // The walsender stops, the connection stays up: the standby reports no error and no replay delay.
        await cluster.StallWalStreamAsync(stalled, _ct);
        using var writes = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            while (!writes.IsCancellationRequested)
            {
                await cluster.Primary.ExecuteAsync("INSERT INTO ticks VALUES (now())", CancellationToken.None);
                await Task.Delay(20, CancellationToken.None);
            }
        }, CancellationToken.None);
        try
        {
            // Before the fix it stayed eligible until wal_receiver_timeout (60 s).
            await WaitUntilAsync(() => !IsEligible(dataSource, stalled), "the stalled replica to leave the read set");
            Assert.True(dataSource.GetHosts().Single(h => h.Host.EndsWith($":{stalled.Port}", StringComparison.Ordinal)).ReplayDelay > TimeSpan.FromSeconds(1));
            for (var i = 0; i < 20; i++)
            {
                await using var connection = await dataSource.OpenConnectionAsync(_ct);
                var (port, _) = await WhereAsync(connection);
                Assert.NotEqual(stalled.Port, port);
            }
        }
        finally
        {
            await writes.CancelAsync();
            await writer;
        }

        await cluster.ResumeWalStreamAsync(stalled, _ct);
        await WaitUntilAsync(() => IsEligible(dataSource, stalled), "the resumed replica to take reads again");
    }

    [Fact]
    public async Task A_replica_restarted_far_behind_is_not_eligible_while_its_lag_is_unknown()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text)", _ct);
        await cluster.Primary.ExecuteAsync("CHECKPOINT", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var behind = cluster.Replicas[0];

        // A restartpoint past every commit so far: after a restart, replay starts there and meets no commit.
        await behind.ExecuteAsync("CHECKPOINT", _ct);
        await using var running = await CreateDataSourceAsync(cluster, b => b.Options.MaxReplicaLag = TimeSpan.FromSeconds(1));

        // Down while the primary writes, then back without a way to reach the primary (its upstream moved, say).
        await behind.ExecuteAsync("ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 user=postgres'", _ct);
        await behind.StopAsync(cancellationToken: _ct);
        await cluster.Primary.ExecuteAsync("INSERT INTO kv VALUES (1, 'new')", _ct);
        await behind.StartAsync(_ct);

        // Its own word on its delay is missing: no commit replayed since it started, no WAL receiver.
        Assert.Null(await behind.ExecuteScalarAsync<DateTime?>("SELECT pg_last_xact_replay_timestamp()", _ct));
        Assert.Equal(0L, await behind.ExecuteScalarAsync<long>("SELECT count(*) FROM kv", _ct));

        // Neither a data source that watched it fall behind nor one that starts now lets it take reads.
        await using var started = await CreateDataSourceAsync(cluster, b => b.Options.MaxReplicaLag = TimeSpan.FromSeconds(1));
        await WaitUntilAsync(
            async () =>
            {
                await running.RefreshTopologyAsync(_ct);
                return Host(running, behind).Health == HostHealth.Healthy;
            },
            "the restarted replica to answer probes again");

        // The data source that watched it knows how far behind it is: only once that is past the bound (the stop and
        // start can take less than the bound) may it be told apart from a replica that merely lags a little.
        await WaitUntilAsync(
            async () =>
            {
                await running.RefreshTopologyAsync(_ct);
                return Host(running, behind).ReplayDelay > TimeSpan.FromSeconds(1);
            },
            "the restarted replica to be further behind than the bound");
        for (var round = 0; round < 5; round++)
        {
            await running.RefreshTopologyAsync(_ct);
            await started.RefreshTopologyAsync(_ct);
            Assert.False(IsEligible(running, behind), $"round {round}: {Describe(running)}");
            Assert.False(IsEligible(started, behind), $"round {round}: {Describe(started)}");
        }

        for (var i = 0; i < 10; i++)
        {
            await using var stranger = await started.OpenConnectionAsync(_ct);
            Assert.Equal("new", await stranger.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 1"));
        }
    }

    [Fact]
    public async Task A_write_read_through_an_open_reader_is_seen_by_the_session_and_survives_closing_the_connection_first()
    {
        var (_, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(30));
        await using var _ = dataSource;
        var writer = await dataSource.OpenConnectionAsync(_ct);
        await using var follower = await dataSource.OpenConnectionAsync(_ct);
        follower.ConsistencySession = writer.ConsistencySession;

        await using var command = writer.CreateCommand();
        command.CommandText = "INSERT INTO kv VALUES (1, 'returned') RETURNING v";
        var reader = await command.ExecuteReaderAsync(_ct);
        Assert.True(await reader.ReadAsync(_ct));
        Assert.Equal("returned", reader.GetString(0));

        // The row came back, so the write is done as far as the caller knows; the reader is still open.
        Assert.Equal("returned", await follower.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 1"));
        Assert.Equal(HostRole.Primary, follower.LastRoute!.Value.Role);

        // Closing the connection with the reader undisposed still records the write on the session.
        await writer.CloseAsync();
        Assert.True(reader.IsClosed);
        Assert.Equal("returned", await follower.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 1"));
        Assert.Equal(HostRole.Primary, follower.LastRoute!.Value.Role);
        await writer.DisposeAsync();
    }

    [Theory]
    [InlineData(LsnCaptureMode.Background)]
    [InlineData(LsnCaptureMode.SameRoundTrip)]
    public async Task A_write_reader_closed_with_its_connection_marks_the_session(LsnCaptureMode mode)
    {
        var (_, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(30), b => b.Options.LsnCapture = mode);
        await using var _ = dataSource;
        var session = new ConsistencySession();
        await using (var writer = await dataSource.OpenConnectionAsync(_ct))
        {
            writer.ConsistencySession = session;
            await using var command = writer.CreateCommand();
            command.CommandText = "INSERT INTO kv VALUES (2, 'a'), (3, 'b') RETURNING v";
            var reader = await command.ExecuteReaderAsync(_ct);
            Assert.True(await reader.ReadAsync(_ct));

            // Closed (returned to the pool) with one row unread and the reader never disposed.
        }

        await using var follower = await dataSource.OpenConnectionAsync(_ct);
        follower.ConsistencySession = session;
        Assert.Equal(2L, await follower.ExecuteScalarAsync<long>("SELECT count(*) FROM kv WHERE k IN (2, 3)"));
        Assert.Equal(HostRole.Primary, follower.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task Quoted_EXPLAIN_options_that_execute_go_to_the_primary()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.Zero);
        await using var _ = dataSource;
        await cluster.Primary.ExecuteAsync("INSERT INTO kv VALUES (10, 'x'), (11, 'y')", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        await connection.ExecuteAsync("EXPLAIN (\"analyze\") DELETE FROM kv WHERE k = 10");
        Assert.Equal(RoutingReason.ClassifiedWrite, connection.LastRoute!.Value.Reason);
        Assert.Equal(0L, await cluster.Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM kv WHERE k = 10", _ct));

        // Options known not to execute still read a replica (a new connection: the session above just wrote).
        await using var reader = await dataSource.OpenConnectionAsync(_ct);
        await reader.ExecuteAsync("EXPLAIN (COSTS OFF, \"verbose\") DELETE FROM kv WHERE k = 11");
        Assert.Equal(RoutingReason.ClassifiedRead, reader.LastRoute!.Value.Reason);
        Assert.Equal(HostRole.Replica, reader.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task A_standby_refusing_a_read_after_rows_streamed_gives_a_typed_retryable_error_and_the_text_is_learned()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.Zero);
        await using var _ = dataSource;
        await cluster.Primary.ExecuteAsync(
            "INSERT INTO kv SELECT g, 'v' FROM generate_series(1, 5000) g; CREATE VIEW kv_audited AS SELECT k FROM kv UNION ALL SELECT audit_now()",
            _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        const string Sql = "SELECT k FROM kv_audited";
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        var error = await Assert.ThrowsAsync<ReplicaRefusedWriteException>(async () =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = Sql;
            await using var reader = await command.ExecuteReaderAsync(_ct);
            while (await reader.ReadAsync(_ct))
            {
            }
        });
        Assert.True(error.IsTransient);
        Assert.Equal(PostgresErrorCodes.ReadOnlySqlTransaction, Assert.IsType<PostgresException>(error.InnerException).SqlState);
        Assert.Equal(0L, await cluster.Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM audit", _ct));

        // Run again: straight to the primary, where it works (and writes its audit row).
        await using var again = await dataSource.OpenConnectionAsync(_ct);
        Assert.Equal(5001, (await again.QueryAsync<int>(Sql)).Count());
        Assert.Equal(HostRole.Primary, again.LastRoute!.Value.Role);
        Assert.Equal(1L, await cluster.Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM audit", _ct));
    }

    [Fact]
    public async Task SameRoundTrip_captures_cannot_be_shadowed_and_a_commit_whose_capture_fails_still_marks_the_session()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.FromSeconds(30), b => b.Options.LsnCapture = LsnCaptureMode.SameRoundTrip);
        await using var _ = dataSource;
        await cluster.Primary.ExecuteAsync(
            """
            CREATE FUNCTION public.pg_current_wal_insert_lsn() RETURNS pg_lsn LANGUAGE sql AS $$ SELECT '0/1'::pg_lsn $$;
            CREATE ROLE app NOLOGIN;
            GRANT ALL ON kv TO app;
            """,
            _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);

        // A function of the same name earlier on search_path must not answer for the capture.
        var shadowed = new ConsistencySession();
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            connection.ConsistencySession = shadowed;
            await connection.ExecuteAsync("SET search_path = public, pg_catalog");
            await connection.ExecuteAsync("INSERT INTO kv VALUES (20, 'shadow')");
        }

        Assert.True(shadowed.Token!.Value.Lsn > new NpgsqlTypes.NpgsqlLogSequenceNumber(1), $"token {shadowed.Token}");

        // The COMMIT goes through, then the capture in the same round trip fails (its role may no longer run it).
        var session = new ConsistencySession();
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            connection.ConsistencySession = session;
            await connection.ExecuteAsync("SET ROLE app");
            await using var transaction = await connection.BeginTransactionAsync(_ct);
            await connection.ExecuteAsync("INSERT INTO kv VALUES (21, 'committed')", transaction: transaction);
            await cluster.Primary.ExecuteAsync("REVOKE EXECUTE ON FUNCTION pg_catalog.pg_current_wal_insert_lsn() FROM PUBLIC", _ct);
            var error = await Assert.ThrowsAsync<PostgresException>(() => transaction.CommitAsync(_ct));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        }

        Assert.Equal(1L, await cluster.Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM kv WHERE k = 21", _ct));
        await using var follower = await dataSource.OpenConnectionAsync(_ct);
        follower.ConsistencySession = session;
        Assert.Equal("committed", await follower.ExecuteScalarAsync<string?>("SELECT v FROM kv WHERE k = 21"));
        Assert.Equal(HostRole.Primary, follower.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task A_failed_command_is_recorded_as_failed_where_it_ran()
    {
        var (_, dataSource) = await LaggingClusterAsync(TimeSpan.Zero);
        await using var _ = dataSource;
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await connection.ExecuteScalarAsync<int>("SELECT 1");
        Assert.False(connection.LastRoute!.Value.Failed);

        await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("INSERT INTO no_such_table VALUES (1)"));
        var route = connection.LastRoute!.Value;
        Assert.True(route.Failed);
        Assert.Equal(HostRole.Primary, route.Role);
        Assert.Equal(RoutingReason.ClassifiedWrite, route.Reason);
        Assert.EndsWith("; failed)", route.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_STABLE_function_created_after_start_is_learned_on_first_sight()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.Zero);
        await using var _ = dataSource;
        await cluster.Primary.ExecuteAsync("CREATE FUNCTION late_answer() RETURNS int STABLE LANGUAGE sql AS $$ SELECT 42 $$", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);

        await using (var first = await dataSource.OpenConnectionAsync(_ct))
        {
            Assert.Equal(42, await first.ExecuteScalarAsync<int>("SELECT late_answer()"));
            Assert.Equal("unknown function late_answer", first.LastRoute!.Value.Detail);
        }

        // The unknown name made the catalog reload (within about a second), not at the next 5-minute refresh.
        await WaitUntilAsync(
            async () =>
            {
                await using var connection = await dataSource.OpenConnectionAsync(_ct);
                await connection.ExecuteScalarAsync<int>("SELECT late_answer()");
                return connection.LastRoute!.Value.Role == HostRole.Replica;
            },
            "late_answer() to be read on a replica");
    }

    [Fact]
    public async Task Ignore_never_drops_a_position_the_session_earned()
    {
        var first = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        var second = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await first.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text)", _ct);
        await using var here = await CreateDataSourceAsync(first, b => b.Options.InvalidTokenHandling = InvalidTokenHandling.Ignore);
        await using var there = await CreateDataSourceAsync(second, b => b.Options.InvalidTokenHandling = InvalidTokenHandling.Ignore);

        // One session object, two data sources (two keyed registrations sharing a DI scope, say).
        var session = new ConsistencySession();
        await using (var connection = here.CreateConnection(session))
        {
            await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'mine')");
        }

        var earned = await here.GetSessionTokenAsync(session, _ct);
        Assert.NotNull(earned);
        await using (var connection = there.CreateConnection(session))
        {
            var error = await Assert.ThrowsAsync<ConsistencyTokenException>(() => connection.ExecuteScalarAsync<int>("SELECT 1"));
            Assert.Contains("not dropped", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(earned, session.Token);

        // A token that just arrived from outside is still ignored, as configured.
        await using var resumed = there.CreateConnection(there.ResumeSession(here.ExportSession(session)));
        Assert.Equal(1, await resumed.ExecuteScalarAsync<int>("SELECT 1"));
        Assert.Null(resumed.ConsistencySession.Token);
    }

    [Fact]
    public async Task With_standard_conforming_strings_off_a_backslash_in_a_string_proves_nothing()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync("ALTER DATABASE postgres SET standard_conforming_strings = off", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        // 'a\' ends at another quote for the server than for a lexer that reads backslashes literally.
        Assert.Equal(@"a'b", await connection.ExecuteScalarAsync<string>(@"SELECT 'a\'b'"));
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
        Assert.Contains("standard_conforming_strings", connection.LastRoute!.Value.Detail, StringComparison.Ordinal);

        await using var plain = await dataSource.OpenConnectionAsync(_ct);
        Assert.Equal("ab", await plain.ExecuteScalarAsync<string>("SELECT 'ab'"));
        Assert.Equal(HostRole.Replica, plain.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task Changing_a_commands_CommandType_classifies_it_again()
    {
        var (_, dataSource) = await LaggingClusterAsync(TimeSpan.Zero);
        await using var _ = dataSource;
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        await command.ExecuteScalarAsync(_ct);
        Assert.Equal(HostRole.Replica, command.LastRoute!.Value.Role);

        // The same text as a stored procedure is a CALL: never a provable read.
        command.CommandType = CommandType.StoredProcedure;
        await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync(_ct));
        Assert.Equal("stored procedure", command.LastRoute!.Value.Detail);
        Assert.Equal(HostRole.Primary, command.LastRoute!.Value.Role);
        Assert.True(command.LastRoute!.Value.Failed);
    }

    [Fact]
    public async Task An_endpoint_that_moves_to_a_standby_behind_does_not_vouch_with_the_old_position()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text); INSERT INTO kv VALUES (5, 'old')", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var (ahead, behind) = (cluster.Replicas[0], cluster.Replicas[1]);
        await behind.ExecuteAsync("SELECT pg_wal_replay_pause()", _ct);
        await cluster.Primary.ExecuteAsync("UPDATE kv SET v = 'new' WHERE k = 5", _ct);
        await ahead.WaitForReplayAsync(await cluster.Primary.GetLsnAsync(_ct), TimeSpan.FromSeconds(30), _ct);

        // One address for "the replicas" (a virtual IP, a pooler), first reaching the standby that is ahead.
        var endpoint = cluster.CreateProxy(ahead);
        var hosts = $"{cluster.Primary.Address}:{cluster.Primary.Port},{endpoint.Address}:{endpoint.Port}";
        var builder = new ReplicatedDataSourceBuilder(new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Host = hosts }.ConnectionString);
        builder.Options.TopologyProbeInterval = TimeSpan.FromMinutes(5);
        builder.Options.MaxProbeBackoff = TimeSpan.FromMinutes(5);
        await using var dataSource = builder.Build();
        await dataSource.WaitForTopologyAsync(_ct);

        var session = new ConsistencySession();
        await using (var connection = dataSource.CreateConnection(session))
        {
            Assert.Equal("new", await connection.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 5"));
            Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
        }

        await dataSource.RefreshTopologyAsync(_ct);

        // The address now reaches the standby that is behind; the monitor's next probes see its position go back.
        endpoint.Retarget(behind.Address, behind.Port);
        await dataSource.RefreshTopologyAsync(_ct);
        await dataSource.RefreshTopologyAsync(_ct);
        for (var i = 0; i < 5; i++)
        {
            await using var connection = dataSource.CreateConnection(session);
            Assert.Equal("new", await connection.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 5"));
        }
    }

    [Fact]
    public async Task A_writing_function_an_extension_installs_into_pg_catalog_goes_to_the_primary()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.Zero);
        await using var _ = dataSource;
        await cluster.Primary.ExecuteAsync("CREATE EXTENSION adminpack", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var fresh = await CreateDataSourceAsync(cluster);
        await using var connection = await fresh.OpenConnectionAsync(_ct);
        var file = $"routingdata-adminpack-{Guid.NewGuid():N}.txt";

        // pg_file_write lives in pg_catalog but was created after initdb: a user function, VOLATILE.
        await connection.ExecuteScalarAsync<long>($"SELECT pg_catalog.pg_file_write('{file}', 'x', false)");
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
        Assert.Equal("volatile function pg_catalog.pg_file_write", connection.LastRoute!.Value.Detail);
        await connection.ExecuteScalarAsync<int>($"SELECT pg_catalog.pg_file_unlink('{file}')::int");
    }

    [Fact]
    public async Task A_read_a_standby_cannot_serve_runs_on_the_primary_without_pinning_and_is_remembered()
    {
        var (cluster, dataSource) = await LaggingClusterAsync(TimeSpan.Zero);
        await using var _ = dataSource;
        await cluster.Primary.ExecuteAsync("CREATE UNLOGGED TABLE scratch (k int); INSERT INTO scratch VALUES (1), (2)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);

        // A standby cannot read an unlogged table (0A000, "… during recovery"): nothing ran there, and it is no write.
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            Assert.Equal(2L, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM scratch"));
            Assert.Equal(RoutingReason.ReadOnlyRetry, connection.LastRoute!.Value.Reason);
            Assert.False(connection.IsPinnedToPrimary);
        }

        await using var again = await dataSource.OpenConnectionAsync(_ct);
        Assert.Equal(2L, await again.ExecuteScalarAsync<long>("SELECT count(*) FROM scratch"));
        Assert.Equal(HostRole.Primary, again.LastRoute!.Value.Role);
        Assert.Contains("a standby cannot run it", again.LastRoute!.Value.Detail, StringComparison.Ordinal);
        Assert.False(again.IsPinnedToPrimary);
    }

    private async Task<(PostgresCluster Cluster, ReplicatedDataSource DataSource)> LaggingClusterAsync(TimeSpan delay, Action<ReplicatedDataSourceBuilder>? configure = null)
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync(
            """
            CREATE TABLE kv (k int primary key, v text);
            CREATE TABLE audit (at timestamptz DEFAULT now());
            CREATE FUNCTION audit_now() RETURNS int LANGUAGE sql AS $$ INSERT INTO audit DEFAULT VALUES; SELECT count(*)::int FROM audit $$;
            CREATE VIEW audited AS SELECT audit_now() AS n;
            """,
            _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(delay, _ct);
        }

        return (cluster, await CreateDataSourceAsync(cluster, configure));
    }

    private static HostStatus Host(ReplicatedDataSource dataSource, PostgresNode node) =>
        dataSource.GetHosts().Single(h => h.Host.EndsWith($":{node.Port}", StringComparison.Ordinal));

    private static bool IsEligible(ReplicatedDataSource dataSource, PostgresNode node) => Host(dataSource, node).TakesReads;

    private static string Describe(ReplicatedDataSource dataSource) => string.Join("; ", dataSource.GetHosts());

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
