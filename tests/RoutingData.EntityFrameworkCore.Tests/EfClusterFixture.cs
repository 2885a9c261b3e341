using Microsoft.EntityFrameworkCore;
using RoutingData.Testing;
using Xunit;

namespace RoutingData.EntityFrameworkCore.Tests;

/// <summary>
/// A primary and two replicas that replay every commit 200 ms late (<c>recovery_min_apply_delay</c>), so a read that
/// sees its own write right after it either waited for a replica or went to the primary — never luck. The schema is
/// created once, through <c>UseReplicatedDb</c> (on the primary).
/// </summary>
public sealed class EfClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan ReplayDelay = TimeSpan.FromMilliseconds(200);

    private ReplicatedDataSource? _dataSource;
    private PostgresCluster? _cluster;

    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("Not initialised.");

    public ReplicatedDataSource DataSource => _dataSource ?? throw new InvalidOperationException("Not initialised.");

    public static PostgresClusterOptions CreateOptions()
    {
        var options = new PostgresClusterOptions { Replicas = 2 };
        options.ServerSettings["recovery_min_apply_delay"] = $"{(int)ReplayDelay.TotalMilliseconds}ms";
        return options;
    }

    public async ValueTask InitializeAsync()
    {
        _cluster = await PostgresCluster.StartAsync(CreateOptions(), TestContext.Current.CancellationToken);
        _dataSource = await EfTestHelpers.CreateDataSourceAsync(Cluster.ConnectionString);
        await using var db = new ShopContext(new DbContextOptionsBuilder<ShopContext>().UseReplicatedDb(DataSource).Options);
        await db.Database.EnsureCreatedAsync(TestContext.Current.CancellationToken);
        await Cluster.WaitForReplicasAsync(cancellationToken: TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EfClusterGroup : ICollectionFixture<EfClusterFixture>
{
    public const string Name = "EF Core cluster";
}
