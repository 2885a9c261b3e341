using System.Data;
using Dapper;
using Npgsql;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Routing;

/// <summary>Where each kind of command runs, proved by the server's own port and recovery state.</summary>
public sealed class RoutingTests(RoutingClusterFixture fixture) : ClusterTestBase, IClassFixture<RoutingClusterFixture>
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Select_runs_on_a_replica_and_reports_why(bool async)
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = dataSource.CreateConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT inet_server_port(), pg_is_in_recovery()";

        int port;
        bool inRecovery;
        if (async)
        {
            await connection.OpenAsync(_ct);
            await using var reader = await command.ExecuteReaderAsync(_ct);
            Assert.True(await reader.ReadAsync(_ct));
            (port, inRecovery) = (reader.GetInt32(0), reader.GetBoolean(1));
        }
        else
        {
            connection.Open();
            using var reader = command.ExecuteReader();
            Assert.True(reader.Read());
            (port, inRecovery) = (reader.GetInt32(0), reader.GetBoolean(1));
        }

        Assert.True(inRecovery);
        Assert.Contains(cluster.Replicas, r => r.Port == port);
        var route = Assert.NotNull(command.LastRoute);
        Assert.Equal(HostRole.Replica, route.Role);
        Assert.Equal(RoutingReason.ClassifiedRead, route.Reason);
        Assert.EndsWith($":{port}", route.Host, StringComparison.Ordinal);
        Assert.Equal(route, connection.LastRoute);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Writes_run_on_the_primary(bool async)
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        var table = "w_" + Guid.NewGuid().ToString("N")[..8];
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE TABLE {table} (port int); INSERT INTO {table} SELECT inet_server_port()";

        _ = async ? await command.ExecuteNonQueryAsync(_ct) : command.ExecuteNonQuery();

        Assert.Equal(HostRole.Primary, command.LastRoute!.Value.Role);
        Assert.Equal(RoutingReason.ClassifiedWrite, command.LastRoute!.Value.Reason);
        Assert.Equal(cluster.Primary.Port, await cluster.Primary.ExecuteScalarAsync<int>($"SELECT port FROM {table}", _ct));
    }

    [Fact]
    public async Task Dapper_queries_go_to_replicas_and_executes_to_the_primary()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = dataSource.CreateConnection();
        var table = "d_" + Guid.NewGuid().ToString("N")[..8];

        await connection.ExecuteAsync($"CREATE TABLE {table} (id int primary key, name text)");
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
        await connection.ExecuteAsync($"INSERT INTO {table} VALUES (@Id, @Name)", new { Id = 1, Name = "one" });
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);

        await WaitForSessionAsync(cluster, dataSource, connection.ConsistencySession);
        var name = await connection.QuerySingleAsync<string>($"SELECT name FROM {table} WHERE id = @Id", new { Id = 1 });
        Assert.Equal("one", name);
        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);

        var (port, inRecovery) = await WhereAsync(connection);
        Assert.True(inRecovery);
        Assert.Equal(RoutingData.Testing.NodeRole.Standby, NodeOnPort(cluster, port).Role);

        // Synchronous Dapper too.
        Assert.Equal(1, connection.ExecuteScalar<int>($"SELECT count(*) FROM {table}"));
        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task A_routing_hint_in_a_comment_sends_a_read_to_the_primary()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = dataSource.CreateConnection();

        var (port, inRecovery) = await WhereAsync(connection, "/* routing:primary */ ");

        Assert.False(inRecovery);
        Assert.Equal(cluster.Primary.Port, port);
        Assert.Equal(RoutingReason.Hint, connection.LastRoute!.Value.Reason);
    }

    [Fact]
    public async Task Read_preference_per_command_and_per_connection()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);

        await using (var primaryConnection = dataSource.CreateConnection(ReadPreference.Primary))
        {
            var (port, _) = await WhereAsync(primaryConnection);
            Assert.Equal(cluster.Primary.Port, port);
            Assert.Equal(RoutingReason.ReadPreference, primaryConnection.LastRoute!.Value.Reason);
        }

        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT inet_server_port()";
        command.ReadPreference = ReadPreference.Primary;
        Assert.Equal(cluster.Primary.Port, (int)(await command.ExecuteScalarAsync(_ct))!);

        command.ReadPreference = ReadPreference.Replica;
        Assert.Contains(cluster.Replicas, r => r.Port == (int)command.ExecuteScalar()!);

        command.ReadPreference = ReadPreference.Nearest;
        Assert.Contains(cluster.Nodes, n => n.Port == (int)command.ExecuteScalar()!);
        Assert.Equal(RoutingReason.ReadPreference, command.LastRoute!.Value.Reason);
    }

    [Fact]
    public async Task Explicit_transactions_keep_every_command_on_the_primary()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        var table = "t_" + Guid.NewGuid().ToString("N")[..8];
        await connection.ExecuteAsync($"CREATE TABLE {table} (id int)");

        await using (var transaction = await connection.BeginTransactionAsync(_ct))
        {
            await connection.ExecuteAsync($"INSERT INTO {table} VALUES (1)", transaction: transaction);

            // A read inside the transaction must see the uncommitted row: only the transaction's host has it.
            Assert.Equal(1, await connection.ExecuteScalarAsync<int>($"SELECT count(*) FROM {table}", transaction: transaction));
            Assert.Equal(RoutingReason.Transaction, connection.LastRoute!.Value.Reason);
            var (port, inRecovery) = await WhereAsync(connection);
            Assert.Equal(cluster.Primary.Port, port);
            Assert.False(inRecovery);
            await transaction.RollbackAsync(_ct);
        }

        Assert.Equal(0, await connection.ExecuteScalarAsync<int>($"SELECT count(*) FROM {table} /* routing:primary */"));

        // After the transaction, reads go to replicas again (once they have caught up with the session).
        await WaitForSessionAsync(cluster, dataSource, connection.ConsistencySession);
        Assert.True((await WhereAsync(connection)).InRecovery);
    }

    [Fact]
    public async Task Read_only_transactions_run_on_one_replica()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        await using var transaction = await connection.BeginReadOnlyTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken: _ct);
        Assert.Equal(HostRole.Replica, transaction.Role);
        var first = await WhereAsync(connection);
        var second = await WhereAsync(connection);
        Assert.True(first.InRecovery);
        Assert.Equal(first.Port, second.Port);
        Assert.EndsWith($":{first.Port}", transaction.HostName, StringComparison.Ordinal);

        // Writes inside it fail there (25006) and are not retried elsewhere: the transaction owns its host.
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync("CREATE TABLE never (id int)"));
        Assert.Equal(PostgresErrorCodes.ReadOnlySqlTransaction, error.SqlState);
    }

    [Fact]
    public async Task Session_state_pins_the_connection_to_the_primary_until_it_is_closed()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        Assert.True((await WhereAsync(connection)).InRecovery);

        await connection.ExecuteAsync("SET application_name = 'pinned-by-test'");
        Assert.Equal(RoutingReason.SessionState, connection.LastRoute!.Value.Reason);
        Assert.True(connection.IsPinnedToPrimary);

        // The setting is visible because the read runs on the same primary session.
        Assert.Equal("pinned-by-test", await connection.ExecuteScalarAsync<string>("SHOW application_name"));
        Assert.Equal(RoutingReason.SessionPinned, connection.LastRoute!.Value.Reason);
        Assert.Equal(cluster.Primary.Port, (await WhereAsync(connection)).Port);

        await connection.CloseAsync();
        await connection.OpenAsync(_ct);
        Assert.False(connection.IsPinnedToPrimary);
        await WaitForSessionAsync(cluster, dataSource, connection.ConsistencySession);
        Assert.True((await WhereAsync(connection)).InRecovery);
    }

    [Fact]
    public async Task A_read_batch_runs_on_a_replica_and_a_mixed_batch_on_the_primary()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        await using (var batch = connection.CreateBatch())
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT inet_server_port()"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_is_in_recovery()"));
            await using var reader = await batch.ExecuteReaderAsync(_ct);
            Assert.True(await reader.ReadAsync(_ct));
            var port = reader.GetInt32(0);
            Assert.True(await reader.NextResultAsync(_ct));
            Assert.True(await reader.ReadAsync(_ct));
            Assert.True(reader.GetBoolean(0));
            Assert.Contains(cluster.Replicas, r => r.Port == port);
            Assert.Equal(HostRole.Replica, batch.LastRoute!.Value.Role);
        }

        await using (var batch = connection.CreateBatch())
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT 1"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("CREATE TEMP TABLE batch_tmp (id int)"));
            await batch.ExecuteNonQueryAsync(_ct);
            Assert.Equal(HostRole.Primary, batch.LastRoute!.Value.Role);
        }
    }

    [Fact]
    public async Task Prepared_commands_run_repeatedly_with_parameters()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT $1::int + 1, pg_is_in_recovery()";
        command.Parameters.Add(new NpgsqlParameter { Value = 0 });
        await command.PrepareAsync(_ct);

        for (var i = 0; i < 3; i++)
        {
            command.Parameters[0].Value = i;
            await using var reader = await command.ExecuteReaderAsync(_ct);
            Assert.True(await reader.ReadAsync(_ct));
            Assert.Equal(i + 1, reader.GetInt32(0));
            Assert.True(reader.GetBoolean(1));
        }
    }

    [Fact]
    public async Task Named_parameters_work_for_reads_and_writes_through_readers()
    {
        var cluster = UseShared(fixture.Cluster);
        var table = "np_" + Guid.NewGuid().ToString("N")[..8];
        await cluster.Primary.ExecuteAsync($"CREATE TABLE {table} (k int primary key, version bigint); INSERT INTO {table} VALUES (1, 0)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        var session = new ConsistencySession();
        for (var i = 0; i < 3; i++)
        {
            foreach (var sql in new[] { $"UPDATE {table} SET version = version + 1 WHERE k = @k RETURNING version, inet_server_port()", $"SELECT version, inet_server_port() FROM {table} WHERE k = @k" })
            {
                await using var connection = dataSource.CreateConnection(session);
                await connection.OpenAsync(_ct);
                await using var command = connection.CreateCommand();
                command.CommandText = sql;
                command.Parameters.AddWithValue("k", 1);
                await using var reader = await command.ExecuteReaderAsync(_ct);
                Assert.True(await reader.ReadAsync(_ct));
                Assert.Equal(i + 1, reader.GetInt64(0));
            }
        }

        // One command re-executed with new values (Npgsql cannot re-run a batch command with named parameters:
        // RoutedCommand renews it, keeping the caller's parameter objects).
        await using var reused = dataSource.CreateConnection(session);
        await reused.OpenAsync(_ct);
        await using var update = reused.CreateCommand();
        update.CommandText = $"UPDATE {table} SET version = @v WHERE k = @k";
        var value = update.Parameters.AddWithValue("v", 0L);
        update.Parameters.AddWithValue("k", 1);
        for (var v = 10L; v < 13; v++)
        {
            value.Value = v;
            Assert.Equal(1, await update.ExecuteNonQueryAsync(_ct));
            Assert.Same(value, update.Parameters["v"]);
        }

        Assert.Equal(12L, await cluster.Primary.ExecuteScalarAsync<long>($"SELECT version FROM {table} WHERE k = 1", _ct));
    }

    [Fact]
    public async Task CloseConnection_closes_the_routed_connection_and_returns_every_physical_one()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await connection.ExecuteAsync("SELECT 1 /* routing:primary */");
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";

        await using (var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.CloseConnection, _ct))
        {
            Assert.True(await reader.ReadAsync(_ct));
        }

        Assert.Equal(System.Data.ConnectionState.Closed, connection.State);
        Assert.Equal(0, dataSource.LeasedConnections);

        // DbDataSource.CreateCommand opens and closes a connection per execution through the same flag.
        await using var standalone = dataSource.CreateCommand("SELECT pg_is_in_recovery()");
        Assert.True((bool)(await standalone.ExecuteScalarAsync(_ct))!);
        await using (var reader = await standalone.ExecuteReaderAsync(_ct))
        {
            Assert.True(await reader.ReadAsync(_ct));
        }

        Assert.Equal(0, dataSource.LeasedConnections);
    }

    [Fact]
    public async Task Command_timeouts_and_cancellation_reach_the_server_through_the_routed_path()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        await using (var slow = connection.CreateCommand())
        {
            slow.CommandText = "SELECT pg_sleep(10)";
            slow.CommandTimeout = 1;
            var timeout = await Assert.ThrowsAnyAsync<NpgsqlException>(() => slow.ExecuteScalarAsync(_ct));
            Assert.IsType<TimeoutException>(timeout.InnerException);
        }

        using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(_ct))
        {
            await using var slow = connection.CreateCommand();
            slow.CommandText = "SELECT pg_sleep(10)";
            cancel.CancelAfter(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow.ExecuteScalarAsync(cancel.Token));
        }

        // The logical connection is still usable afterwards.
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT 1"));
        await connection.CloseAsync();
        Assert.Equal(0, dataSource.LeasedConnections);
    }

    [Fact]
    public async Task A_token_cancelled_after_its_connection_closed_cancels_nothing_on_the_next_connection_of_the_thread()
    {
        // A closed connection hands its cancellation source to the next connection opened on the thread: the first
        // caller's token must no longer reach it, and the next caller's token must.
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        for (var i = 0; i < 5; i++)
        {
            using var first = CancellationTokenSource.CreateLinkedTokenSource(_ct);
            var earlier = await dataSource.OpenConnectionAsync(_ct);
            await using (var command = earlier.CreateCommand())
            {
                command.CommandText = "SELECT 1";
                Assert.Equal(1, await command.ExecuteScalarAsync(first.Token));
            }

            await earlier.CloseAsync();
            await using var next = await dataSource.OpenConnectionAsync(_ct);
            await using (var slow = next.CreateCommand())
            {
                slow.CommandText = "SELECT pg_sleep(0.2)";
                var running = slow.ExecuteScalarAsync(_ct);
                await first.CancelAsync();
                await running; // Not cancelled by the first caller's token.
            }

            using var second = CancellationTokenSource.CreateLinkedTokenSource(_ct);
            await using (var slow = next.CreateCommand())
            {
                slow.CommandText = "SELECT pg_sleep(10)";
                var running = slow.ExecuteScalarAsync(second.Token);
                await second.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
            }
        }

        Assert.Equal(0, dataSource.LeasedConnections);
    }

    [Fact]
    public async Task Classifier_hard_cases_go_to_the_primary()
    {
        var cluster = UseShared(fixture.Cluster);
        var table = "h_" + Guid.NewGuid().ToString("N")[..8];
        await cluster.Primary.ExecuteAsync($"CREATE TABLE {table} (id serial primary key, v int); INSERT INTO {table} (v) VALUES (1)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        string[] writes =
        [
            $"WITH d AS (DELETE FROM {table} WHERE v = -1 RETURNING *) SELECT count(*) FROM d",
            $"SELECT v FROM {table} FOR UPDATE",
            $"SELECT v FROM {table} FOR NO KEY UPDATE",
            $"SELECT nextval('{table}_id_seq')",
            $"EXPLAIN ANALYZE UPDATE {table} SET v = v",
            $"SELECT pg_advisory_xact_lock(42)",
        ];
        foreach (var sql in writes)
        {
            // The reason, not only the role: a write the classifier missed would also end on the primary, through a
            // replica's 25006 (ReadOnlyRetry).
            await connection.ExecuteAsync(sql);
            Assert.True(connection.LastRoute!.Value is { Role: HostRole.Primary, Reason: RoutingReason.ClassifiedWrite }, $"{sql} went to {connection.LastRoute}");
        }

        await WaitForSessionAsync(cluster, dataSource, connection.ConsistencySession);

        string[] reads =
        [
            $"SELECT 'DELETE FROM {table}' AS s FROM {table}",
            $"SELECT $$ ; INSERT INTO x VALUES (1) $$",
            $"EXPLAIN SELECT * FROM {table}",
            $"/* nested /* comment */ still ; DELETE */ SELECT count(*) FROM {table}",
        ];
        foreach (var sql in reads)
        {
            await connection.ExecuteAsync(sql);
            Assert.True(connection.LastRoute!.Value.Role == HostRole.Replica, $"{sql} went to {connection.LastRoute}");
        }
    }

    [Fact]
    public async Task User_functions_are_routed_by_their_volatility()
    {
        var cluster = UseShared(fixture.Cluster);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        await cluster.Primary.ExecuteAsync(
            $"""
            CREATE TABLE audit_{suffix} (at timestamptz);
            CREATE FUNCTION log_{suffix}() RETURNS int VOLATILE LANGUAGE sql AS $$ INSERT INTO audit_{suffix} VALUES (now()); SELECT 1 $$;
            CREATE FUNCTION answer_{suffix}() RETURNS int STABLE LANGUAGE sql AS $$ SELECT 42 $$;
            """,
            _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        Assert.Equal(1, await connection.ExecuteScalarAsync<int>($"SELECT log_{suffix}()"));
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);

        // Sent there by the catalog (pg_proc says VOLATILE), not by a 25006 retry from a replica; a user VOLATILE
        // function may also change session state (set_config), so the connection stays on the primary.
        Assert.Equal(RoutingReason.SessionState, connection.LastRoute!.Value.Reason);
        Assert.Equal($"volatile function log_{suffix}", connection.LastRoute!.Value.Detail);
        Assert.True(connection.IsPinnedToPrimary);
        await WaitForSessionAsync(cluster, dataSource, connection.ConsistencySession);
        Assert.Equal(42, await connection.ExecuteScalarAsync<int>($"SELECT answer_{suffix}()"));
        Assert.Equal(RoutingReason.SessionPinned, connection.LastRoute!.Value.Reason);

        await using var other = await dataSource.OpenConnectionAsync(_ct);
        other.ConsistencySession = connection.ConsistencySession;
        Assert.Equal(42, await other.ExecuteScalarAsync<int>($"SELECT answer_{suffix}()"));
        Assert.Equal(HostRole.Replica, other.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task A_replica_refusing_a_write_with_25006_is_retried_once_on_the_primary()
    {
        var cluster = UseShared(fixture.Cluster);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        await cluster.Primary.ExecuteAsync(
            $"CREATE TABLE sneaky_{suffix} (id int); CREATE FUNCTION sneaky_{suffix}() RETURNS int LANGUAGE sql AS $$ INSERT INTO sneaky_{suffix} VALUES (1); SELECT 7 $$;",
            _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);

        // Declared read-only by (wrong) configuration: the classifier sends it to a replica, which refuses it.
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.Options.ReadOnlyFunctions.Add($"sneaky_{suffix}"));
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT sneaky_{suffix}()";

        Assert.Equal(7, (int)(await command.ExecuteScalarAsync(_ct))!);

        Assert.Equal(HostRole.Primary, command.LastRoute!.Value.Role);
        Assert.Equal(RoutingReason.ReadOnlyRetry, command.LastRoute!.Value.Reason);
        Assert.Equal(1L, await cluster.Primary.ExecuteScalarAsync<long>($"SELECT count(*) FROM sneaky_{suffix}", _ct));
    }

    [Fact]
    public async Task A_read_cancelled_by_a_recovery_conflict_is_retried_on_another_host()
    {
        var cluster = UseShared(fixture.Cluster);
        var table = "conflict_" + Guid.NewGuid().ToString("N")[..8];
        await cluster.Primary.ExecuteAsync($"CREATE TABLE {table} AS SELECT generate_series(1, 1000) AS id", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM (SELECT pg_sleep(1.5)) AS pause, {table}";

        var read = command.ExecuteScalarAsync(_ct);

        // Once the read holds its lock on a replica, an exclusive lock replayed from the primary cancels it
        // there (max_standby_streaming_delay = 0): SQLSTATE 40001, "conflict with recovery".
        var victim = await WaitForActiveQueryAsync(cluster, "pg_sleep(1.5)");
        await cluster.Primary.ExecuteAsync($"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; COMMIT;", _ct);

        Assert.Equal(1000L, (long)(await read)!);
        var route = command.LastRoute!.Value;
        Assert.Equal(RoutingReason.RecoveryConflictRetry, route.Reason);
        Assert.NotEqual($"{victim.Address}:{victim.Port}", route.Host);
    }

    private async Task<RoutingData.Testing.PostgresNode> WaitForActiveQueryAsync(RoutingData.Testing.PostgresCluster cluster, string fragment)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            foreach (var replica in cluster.Replicas)
            {
                var count = await replica.ExecuteScalarAsync<long>(
                    $"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{fragment}%' AND pid <> pg_backend_pid()", _ct);
                if (count > 0)
                {
                    return replica;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"No replica ran a query containing '{fragment}'.");
            await Task.Delay(10, _ct);
        }
    }

    [Fact]
    public async Task Round_robin_spreads_new_connections_over_both_replicas()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        var ports = new HashSet<int>();
        for (var i = 0; i < 10; i++)
        {
            await using var connection = dataSource.CreateConnection();
            ports.Add((await WhereAsync(connection)).Port);
        }

        Assert.Equal(cluster.Replicas.Select(r => r.Port).Order(), ports.Order());
    }

    [Fact]
    public async Task Ten_thousand_mixed_operations_leave_no_physical_connection_borrowed()
    {
        var cluster = UseShared(fixture.Cluster);
        var table = "leak_" + Guid.NewGuid().ToString("N")[..8];
        await cluster.Primary.ExecuteAsync($"CREATE TABLE {table} (id int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        Assert.Equal(0, dataSource.LeasedConnections);

        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 2500; i++)
            {
                await using var connection = dataSource.CreateConnection();
                switch (i % 5)
                {
                    case 0:
                        await connection.ExecuteAsync($"INSERT INTO {table} VALUES (@i)", new { i });
                        break;
                    case 1:
                        await connection.OpenAsync(_ct);
                        await using (var transaction = await connection.BeginTransactionAsync(_ct))
                        {
                            await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM {table}", transaction: transaction);
                            await transaction.CommitAsync(_ct);
                        }

                        break;
                    case 2:
                        await connection.ExecuteAsync("SET statement_timeout = '5s'");
                        await connection.ExecuteScalarAsync<int>("SELECT 1");
                        break;
                    default:
                        await connection.ExecuteScalarAsync<int>("SELECT 1");
                        await connection.ExecuteScalarAsync<int>($"SELECT count(*) FROM {table} /* routing:primary */");
                        break;
                }
            }
        }, _ct)).ToArray();
        await Task.WhenAll(workers);

        Assert.Equal(0, dataSource.LeasedConnections);
        Assert.Equal(2000L, await cluster.Primary.ExecuteScalarAsync<long>($"SELECT count(*) FROM {table}", _ct));
    }

    [Fact]
    public async Task The_password_never_appears_in_the_connection_string_or_errors()
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster, b => b.Options.ConnectionString += ";Password=hunter2-secret");

        Assert.DoesNotContain("hunter2", dataSource.ConnectionString, StringComparison.Ordinal);
        await using var connection = dataSource.CreateConnection();
        Assert.DoesNotContain("hunter2", connection.ConnectionString, StringComparison.Ordinal);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => connection.ExecuteAsync("SELECT * FROM no_such_table_anywhere"));
        Assert.DoesNotContain("hunter2", error.ToString(), StringComparison.Ordinal);
    }
}
