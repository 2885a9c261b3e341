using Dapper;
using Npgsql;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Routing;

/// <summary>
/// Read-only transactions on replicas: a <c>BEGIN READ ONLY; …; COMMIT</c> text runs there as one unit (and a failure
/// part-way does not leave the next command inside the aborted block); <see cref="RoutedConnection.BeginReadOnlyTransactionAsync"/>
/// runs on a caught-up replica and falls back to the primary when none has the session's write.
/// </summary>
public sealed class ReadOnlyTransactionTextTests(RoutingClusterFixture fixture) : ClusterTestBase, IClassFixture<RoutingClusterFixture>
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("BEGIN READ ONLY; SELECT pg_is_in_recovery(); SELECT pg_is_in_recovery(); COMMIT")]
    [InlineData("START TRANSACTION READ ONLY; SELECT pg_is_in_recovery(); SELECT current_setting('transaction_read_only') = 'on'; COMMIT")]
    [InlineData("begin transaction isolation level repeatable read, read only; select pg_is_in_recovery(); select true; end")]
    public async Task A_read_only_transaction_block_runs_on_a_replica_as_one_unit(string sql)
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;

        await using (var reader = await command.ExecuteReaderAsync(_ct))
        {
            for (var results = 0; results < 2; results++)
            {
                Assert.True(await reader.ReadAsync(_ct));
                Assert.True(reader.GetBoolean(0));
                Assert.Equal(results == 0, await reader.NextResultAsync(_ct));
            }
        }

        Assert.Equal(HostRole.Replica, command.LastRoute!.Value.Role);
        Assert.Equal(RoutingReason.ClassifiedRead, command.LastRoute!.Value.Reason);
        Assert.False(connection.IsPinnedToPrimary);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_block_that_fails_part_way_does_not_leave_the_next_command_in_an_aborted_transaction(bool reader)
    {
        var cluster = UseShared(fixture.Cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT pg_is_in_recovery()"));

        const string Failing = "BEGIN READ ONLY; SELECT 1; SELECT 1 / (SELECT 0); COMMIT";
        var error = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            if (reader)
            {
                await using var command = connection.CreateCommand();
                command.CommandText = Failing;
                await using var results = await command.ExecuteReaderAsync(_ct);
                while (await results.NextResultAsync(_ct))
                {
                }
            }
            else
            {
                await connection.ExecuteAsync(Failing);
            }
        });
        Assert.Equal(PostgresErrorCodes.DivisionByZero, error.SqlState);
        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);

        // The same logical connection goes on outside any transaction: 25P02 if it had inherited the aborted block.
        Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT pg_is_in_recovery()"));
        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task A_read_only_transaction_runs_on_a_caught_up_replica_and_on_the_primary_while_none_has_the_write()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await using (var transaction = await connection.BeginReadOnlyTransactionAsync(cancellationToken: _ct))
        {
            Assert.Equal(HostRole.Replica, transaction.Role);
            Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT pg_is_in_recovery()", transaction: transaction));
        }

        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(TimeSpan.FromSeconds(30), _ct);
        }

        await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'mine')");
        await dataSource.GetSessionTokenAsync(connection.ConsistencySession, _ct); // Its position is known: not pending.
        await using (var transaction = await connection.BeginReadOnlyTransactionAsync(cancellationToken: _ct))
        {
            Assert.Equal(HostRole.Primary, transaction.Role);
            Assert.Equal(RoutingReason.NotCaughtUp, connection.LastRoute!.Value.Reason);
            Assert.Equal("mine", await connection.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 1", transaction: transaction));
        }

        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(TimeSpan.Zero, _ct);
        }

        await WaitForSessionAsync(cluster, dataSource, connection.ConsistencySession);
        await WaitUntilAsync(async () =>
        {
            await using var transaction = await connection.BeginReadOnlyTransactionAsync(cancellationToken: _ct);
            return transaction.Role == HostRole.Replica && await connection.ExecuteScalarAsync<string>("SELECT v FROM kv WHERE k = 1", transaction: transaction) == "mine";
        }, "a read-only transaction on a replica that has the write");
    }
}
