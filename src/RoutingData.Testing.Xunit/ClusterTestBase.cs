using Xunit;

namespace RoutingData.Testing.Xunit;

/// <summary>
/// Base class for tests that use clusters. Dedicated clusters started with
/// <see cref="StartDedicatedClusterAsync"/> are removed after the test; when the test fails, the server logs
/// of every cluster it used (dedicated or shared through <see cref="UseShared"/>) are kept and their folder
/// is written to the test output.
/// </summary>
public abstract class ClusterTestBase : IAsyncLifetime
{
    private readonly List<PostgresCluster> _dedicated = [];
    private readonly List<PostgresCluster> _shared = [];

    /// <summary>Runs before each test; nothing by default.</summary>
    /// <returns>A completed task.</returns>
    public virtual ValueTask InitializeAsync() => default;

    /// <summary>Keeps logs of a failed test's clusters, then removes the dedicated ones.</summary>
    /// <returns>A task that completes when the dedicated clusters are gone.</returns>
    public virtual async ValueTask DisposeAsync()
    {
        // xUnit v3 reports the finished test's result here, in the test class's disposal.
        var failed = TestContext.Current.TestState?.Result == TestResult.Failed;
        if (failed)
        {
            foreach (var cluster in _shared.Concat(_dedicated))
            {
                var folder = cluster.PreserveLogs();
                TestContext.Current.TestOutputHelper?.WriteLine($"Server logs of cluster {Path.GetFileName(cluster.Directory)} ({cluster.BackendDescription}) are kept in {folder}");
            }
        }

        foreach (var cluster in _dedicated)
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Starts a cluster for this test alone; it is removed when the test ends.</summary>
    /// <param name="options">The cluster's shape; null for a primary and two replicas.</param>
    /// <returns>The running cluster.</returns>
    protected async Task<PostgresCluster> StartDedicatedClusterAsync(PostgresClusterOptions? options = null)
    {
        var cluster = await PostgresCluster.StartAsync(options, TestContext.Current.CancellationToken).ConfigureAwait(false);
        _dedicated.Add(cluster);
        return cluster;
    }

    /// <summary>Records that this test uses a shared cluster, so its logs are kept if the test fails.</summary>
    /// <param name="cluster">The shared cluster (from a fixture).</param>
    /// <returns>The same cluster.</returns>
    protected PostgresCluster UseShared(PostgresCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        _shared.Add(cluster);
        return cluster;
    }
}
