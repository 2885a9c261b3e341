using Dapper;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Failover;

/// <summary>A transaction open across a promotion never commits on the old primary: it is rolled back there, typed.</summary>
public sealed class TransactionFencingTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_transaction_open_across_a_promotion_is_rolled_back_not_committed_on_the_fenced_primary(bool commitNext)
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var (oldPrimary, promoted) = (cluster.Primary, cluster.Replicas[0]);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await using var transaction = await connection.BeginTransactionAsync(_ct);
        await connection.ExecuteAsync("INSERT INTO t VALUES (1)", transaction: transaction);

        // A standby is promoted while the old primary keeps running (timeline 2 against 1), and the monitor sees it.
        await cluster.PromoteAsync(promoted, _ct);
        await dataSource.RefreshTopologyAsync(_ct);
        Assert.Equal($"{promoted.Address}:{promoted.Port}", dataSource.GetHosts().Single(h => h is { Role: HostRole.Primary, Timeline: 2 }).Host);

        var error = commitNext
            ? await Assert.ThrowsAsync<TransactionRolledBackException>(() => transaction.CommitAsync(_ct))
            : await Assert.ThrowsAsync<TransactionRolledBackException>(() => connection.ExecuteAsync("INSERT INTO t VALUES (2)", transaction: transaction));
        Assert.True(error.IsTransient);
        Assert.Contains($":{promoted.Port} is the primary now", error.Message, StringComparison.Ordinal);

        // Nothing committed on the fork, and the transaction cannot be used to run anything on its own.
        Assert.Equal(0L, await oldPrimary.ExecuteScalarAsync<long>("SELECT count(*) FROM t", _ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.ExecuteAsync("INSERT INTO t VALUES (3)", transaction: transaction));
        Assert.Equal(0L, await promoted.ExecuteScalarAsync<long>("SELECT count(*) FROM t", _ct));

        // The connection goes on, on the new primary.
        await using var retry = await connection.BeginTransactionAsync(_ct);
        await connection.ExecuteAsync("INSERT INTO t VALUES (4)", transaction: retry);
        await retry.CommitAsync(_ct);
        Assert.Equal(1L, await promoted.ExecuteScalarAsync<long>("SELECT count(*) FROM t WHERE id = 4", _ct));
    }
}
