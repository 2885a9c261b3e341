using Xunit;

namespace RoutingData.Testing.Xunit;

/// <summary>
/// A replication cluster shared by the tests of a class (<c>IClassFixture</c>) or collection
/// (<c>ICollectionFixture</c>). Use it for tests that do not break the cluster; derive from it and override
/// <see cref="CreateOptions"/> for another shape.
/// </summary>
public class SharedClusterFixture : IAsyncLifetime
{
    private PostgresCluster? _cluster;

    /// <summary>Gets the running cluster.</summary>
    public PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("The fixture has not been initialised.");

    /// <summary>Starts the cluster.</summary>
    /// <returns>A task that completes when every replica streams.</returns>
    public async ValueTask InitializeAsync() =>
        _cluster = await PostgresCluster.StartAsync(CreateOptions(), TestContext.Current.CancellationToken).ConfigureAwait(false);

    /// <summary>Stops and removes the cluster (keeping its logs if a test that used it failed).</summary>
    /// <returns>A task that completes when the cluster is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>The options of the shared cluster: a primary and two replicas by default.</summary>
    /// <returns>The options.</returns>
    protected virtual PostgresClusterOptions CreateOptions() => new();
}
