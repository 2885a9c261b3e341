using System.Collections.Concurrent;
using Dapper;
using Npgsql;
using Polly;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Failover;

/// <summary>
/// What runs again, and where, is decided by the Polly pipeline the data source was built with: the default
/// strategies reroute what is safe, a pipeline without them runs nothing twice, and strategies of the user's own see
/// every attempt.
/// </summary>
public sealed class ResiliencePipelineTests(RoutingClusterFixture fixture) : ClusterTestBase, IClassFixture<RoutingClusterFixture>
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_reroute_strategy_moves_a_refused_read_to_the_primary_and_reports_it(bool async)
    {
        var cluster = UseShared(fixture.Cluster);
        var view = await CreateWritingViewAsync(cluster);
        var reroutes = new ConcurrentQueue<OnRerouteArguments>();
        await using var dataSource = await CreateDataSourceAsync(cluster, builder => builder.ConfigureResilience(pipeline => pipeline
            .AddPrimaryWait(new PrimaryWaitStrategyOptions())
            .AddReroute(new RerouteStrategyOptions { OnReroute = args => { reroutes.Enqueue(args); return default; } })));
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        // The view hides nextval(): the text reads, a standby refuses it (25006), the strategy runs it on the primary.
        var value = async ? await connection.ExecuteScalarAsync<long>($"SELECT n FROM {view}") : connection.ExecuteScalar<long>($"SELECT n FROM {view}");

        Assert.True(value > 0);
        var reroute = Assert.Single(reroutes);
        Assert.Equal(RerouteCause.RefusedByStandby, reroute.Cause);
        Assert.Equal(HostRole.Replica, reroute.FailedOn.Role);
        Assert.Equal(HostRole.Primary, reroute.Next.Role);
        Assert.Equal("25006", Assert.IsType<PostgresException>(reroute.Error).SqlState);
        Assert.Equal(RoutingReason.ReadOnlyRetry, connection.LastRoute!.Value.Reason);
    }

    [Fact]
    public async Task A_pipeline_without_the_reroute_strategy_runs_nothing_twice()
    {
        var cluster = UseShared(fixture.Cluster);
        var view = await CreateWritingViewAsync(cluster);
        await using var dataSource = await CreateDataSourceAsync(cluster, builder => builder.ConfigureResilience(pipeline => pipeline.AddPrimaryWait(new PrimaryWaitStrategyOptions())));
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteScalarAsync<long>($"SELECT n FROM {view}"));

        Assert.Equal("25006", error.SqlState);
        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
        Assert.True(connection.LastRoute!.Value.Failed);
    }

    [Fact]
    public async Task A_strategy_of_the_users_own_sees_each_attempt_and_where_it_went()
    {
        var cluster = UseShared(fixture.Cluster);
        var view = await CreateWritingViewAsync(cluster);
        var attempts = new ConcurrentQueue<RoutedAttemptInfo>();
        await using var dataSource = await CreateDataSourceAsync(cluster, builder => builder.ConfigureResilience(pipeline => pipeline
            .AddRoutingDataDefaults()
            .AddStrategy(_ => new RecordingStrategy(attempts), new RecordingOptions())));
        await using var connection = await dataSource.OpenConnectionAsync(_ct);

        await connection.ExecuteScalarAsync<long>($"SELECT n FROM {view}");
        var seen = attempts.ToArray();
        Assert.Equal(2, seen.Length);
        Assert.Equal(HostRole.Replica, seen[0].Route!.Value.Role);
        Assert.True(seen[0].IsRead && seen[0].Sent && !seen[0].InTransaction);
        Assert.Equal(HostRole.Primary, seen[1].Route!.Value.Role);
        Assert.False(seen[1].IsRead); // The standby showed it writes: from then on it is a write.

        attempts.Clear();
        await using (var transaction = await connection.BeginTransactionAsync(_ct))
        {
            await connection.ExecuteScalarAsync<int>("SELECT 1", transaction: transaction);
            await transaction.CommitAsync(_ct);
        }

        var inTransaction = Assert.Single(attempts);
        Assert.True(inTransaction.InTransaction);
        Assert.Equal(RoutingReason.Transaction, inTransaction.Route!.Value.Reason);
    }

    [Fact]
    public async Task A_read_on_the_primary_that_loses_its_connection_runs_again_on_a_replica_unless_told_not_to()
    {
        var cluster = UseShared(fixture.Cluster);
        await using (var dataSource = await CreateDataSourceAsync(cluster))
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            connection.ReadPreference = ReadPreference.PrimaryPreferred;
            var read = connection.ExecuteScalarAsync<int>("SELECT 42 FROM pg_sleep(1.51)");
            await TerminateOnPrimaryAsync(cluster, "pg_sleep(1.51)");

            Assert.Equal(42, await read);
            Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
            Assert.Equal(RoutingReason.HostFailureRetry, connection.LastRoute!.Value.Reason);
        }

        await using (var dataSource = await CreateDataSourceAsync(cluster, builder => builder.ConfigureResilience(pipeline => pipeline
            .AddPrimaryWait(new PrimaryWaitStrategyOptions())
            .AddReroute(new RerouteStrategyOptions { RetryReadsOnConnectionLoss = false }))))
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            connection.ReadPreference = ReadPreference.PrimaryPreferred;
            var read = connection.ExecuteScalarAsync<int>("SELECT 42 FROM pg_sleep(1.52)");
            await TerminateOnPrimaryAsync(cluster, "pg_sleep(1.52)");

            var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => read);
            Assert.IsNotType<CommandOutcomeUnknownException>(error); // A read is never an unknown outcome.
            Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
            Assert.True(connection.LastRoute!.Value.Failed);
        }
    }

    [Fact]
    public async Task A_read_inside_a_transaction_that_loses_its_connection_is_never_rerun()
    {
        var cluster = UseShared(fixture.Cluster);
        var reroutes = 0;
        await using var dataSource = await CreateDataSourceAsync(cluster, builder => builder.ConfigureResilience(pipeline => pipeline
            .AddPrimaryWait(new PrimaryWaitStrategyOptions())
            .AddReroute(new RerouteStrategyOptions { OnReroute = _ => { Interlocked.Increment(ref reroutes); return default; } })));
        await using var connection = await dataSource.OpenConnectionAsync(_ct);
        await using var transaction = await connection.BeginTransactionAsync(_ct);
        var read = connection.ExecuteScalarAsync<int>("SELECT 42 FROM pg_sleep(1.53)", transaction: transaction);
        await TerminateOnPrimaryAsync(cluster, "pg_sleep(1.53)");

        await Assert.ThrowsAsync<TransactionRolledBackException>(() => read);
        Assert.Equal(0, Volatile.Read(ref reroutes));
    }

    [Fact]
    public void Strategy_options_are_validated_by_polly_when_the_pipeline_is_built()
    {
        var builder = new ReplicatedDataSourceBuilder("Host=127.0.0.1:1,127.0.0.1:2;Username=u;Database=d");
        builder.ConfigureResilience(pipeline => pipeline.AddReroute(new RerouteStrategyOptions { MaxUnreachableReroutes = -1 }));

        var error = Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(() => builder.Build());
        Assert.Contains(nameof(RerouteStrategyOptions.MaxUnreachableReroutes), error.Message, StringComparison.Ordinal);
    }

    private async Task<string> CreateWritingViewAsync(Testing.PostgresCluster cluster)
    {
        var name = "v_" + Guid.NewGuid().ToString("N")[..12];
        await cluster.Primary.ExecuteAsync($"CREATE SEQUENCE {name}_seq; CREATE VIEW {name} AS SELECT nextval('{name}_seq') AS n", _ct);
        var lsn = await cluster.Primary.ExecuteScalarAsync<NpgsqlTypes.NpgsqlLogSequenceNumber>("SELECT pg_current_wal_lsn()", _ct);
        foreach (var replica in cluster.Replicas)
        {
            await replica.WaitForReplayAsync(lsn, TimeSpan.FromSeconds(30), _ct);
        }

        return name;
    }

    private async Task TerminateOnPrimaryAsync(Testing.PostgresCluster cluster, string fragment)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (await cluster.Primary.ExecuteScalarAsync<int>($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{fragment}%' AND pid <> pg_backend_pid()", _ct) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The primary never ran a query containing '{fragment}'.");
            await Task.Delay(10, _ct);
        }
    }

    private sealed class RecordingOptions : ResilienceStrategyOptions;

    /// <summary>Sits after the defaults: around each attempt on one host.</summary>
    private sealed class RecordingStrategy(ConcurrentQueue<RoutedAttemptInfo> attempts) : ResilienceStrategy
    {
        protected override async ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback, ResilienceContext context, TState state)
        {
            var outcome = await callback(context, state).ConfigureAwait(false);
            Assert.True(context.TryGetRoutedAttempt(out var attempt));
            attempts.Enqueue(attempt);
            return outcome;
        }
    }
}
