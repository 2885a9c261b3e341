using Dapper;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Failover;

/// <summary>A read whose replica goes down under it runs again elsewhere; a replica writes nothing, so that is safe.</summary>
public sealed class ReadRetryTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_read_whose_replica_backend_is_terminated_is_rerun_on_another_host()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        var read = connection.ExecuteScalarAsync<int>("SELECT 42 FROM pg_sleep(1.5)");

        // The administrator (or a replica shutting down) terminates it: 57P01 on the replica.
        var victim = await WaitForActiveQueryAsync(cluster, "pg_sleep(1.5)");
        await victim.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(1.5)%' AND pid <> pg_backend_pid()", _ct);

        Assert.Equal(42, await read);
        Assert.Equal(RoutingReason.HostFailureRetry, connection.LastRoute!.Value.Reason);
        Assert.DoesNotContain($":{victim.Port}", connection.LastRoute!.Value.Host, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_write_whose_primary_backend_is_terminated_is_not_rerun()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int)", _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        var write = connection.ExecuteAsync("INSERT INTO t SELECT 1 FROM pg_sleep(1.5)");
        await WaitUntilActiveAsync(cluster.Primary, "pg_sleep(1.5)");
        await cluster.Primary.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%INSERT INTO t%' AND pid <> pg_backend_pid()", _ct);

        var error = await Assert.ThrowsAsync<CommandOutcomeUnknownException>(() => write);
        Assert.False(error.IsTransient);
        Assert.IsAssignableFrom<Npgsql.NpgsqlException>(error.InnerException);
        Assert.True(connection.LastRoute!.Value.Failed);
        Assert.Equal(0L, await cluster.Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM t", _ct));
    }

    [Fact]
    public async Task A_transaction_whose_primary_connection_is_lost_is_reported_rolled_back_and_a_lost_commit_as_unknown()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 1 });
        await cluster.Primary.ExecuteAsync(
            """
            CREATE TABLE t (id int);
            CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;
            """,
            _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);

        // A statement of the transaction loses its connection: the server rolls the transaction back.
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            await using var transaction = await connection.BeginTransactionAsync(_ct);
            await connection.ExecuteAsync("INSERT INTO t VALUES (1)", transaction: transaction);
            var statement = connection.ExecuteAsync("INSERT INTO t SELECT 2 FROM pg_sleep(1.5)", transaction: transaction);
            await WaitUntilActiveAsync(cluster.Primary, "pg_sleep(1.5)");
            await cluster.Primary.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%SELECT 2 FROM pg_sleep%' AND pid <> pg_backend_pid()", _ct);
            var error = await Assert.ThrowsAsync<TransactionRolledBackException>(() => statement);
            Assert.True(error.IsTransient);
        }

        Assert.Equal(0L, await cluster.Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM t", _ct));

        // The connection dies while COMMIT runs (a deferred trigger ends its own backend): the outcome is unknown to the client.
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            await using var transaction = await connection.BeginTransactionAsync(_ct);
            await connection.ExecuteAsync("CREATE CONSTRAINT TRIGGER die AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die()", transaction: transaction);
            await connection.ExecuteAsync("INSERT INTO t VALUES (3)", transaction: transaction);
            var error = await Assert.ThrowsAsync<CommandOutcomeUnknownException>(() => transaction.CommitAsync(_ct));
            Assert.False(error.IsTransient);
        }
    }

    private async Task<PostgresNode> WaitForActiveQueryAsync(PostgresCluster cluster, string fragment)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            foreach (var replica in cluster.Replicas)
            {
                if (await IsActiveAsync(replica, fragment))
                {
                    return replica;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"No replica ran a query containing '{fragment}'.");
            await Task.Delay(10, _ct);
        }
    }

    private async Task WaitUntilActiveAsync(PostgresNode node, string fragment)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await IsActiveAsync(node, fragment))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{node.Name} never ran a query containing '{fragment}'.");
            await Task.Delay(10, _ct);
        }
    }

    private Task<bool> IsActiveAsync(PostgresNode node, string fragment) =>
        node.ExecuteScalarAsync<bool>($"SELECT count(*) > 0 FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{fragment}%' AND pid <> pg_backend_pid()", _ct);
}
