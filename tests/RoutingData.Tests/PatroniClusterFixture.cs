using RoutingData.Testing.Patroni;
using Xunit;

namespace RoutingData.Tests;

/// <summary>The tests that share one Patroni cluster run one after another: some of them kill its leader.</summary>
[CollectionDefinition(nameof(SharedPatroniCluster))]
public sealed class SharedPatroniCluster : ICollectionFixture<PatroniClusterFixture>;

/// <summary>
/// One Patroni 3 cluster (etcd and three nodes) shared by the Patroni tests. Where Patroni or etcd is not installed it
/// starts nothing, and each test is skipped with the reason.
/// </summary>
public sealed class PatroniClusterFixture : IAsyncLifetime
{
    private PatroniCluster? _cluster;

    /// <summary>Gets why there is no cluster (Patroni or etcd missing); null when there is one.</summary>
    public string? UnavailableReason { get; private set; }

    /// <summary>Returns the running cluster, or skips the calling test with the reason there is none.</summary>
    public PatroniCluster Require()
    {
        Assert.SkipWhen(UnavailableReason is not null, UnavailableReason ?? string.Empty);
        return _cluster!;
    }

    public async ValueTask InitializeAsync()
    {
        UnavailableReason = PatroniCluster.GetUnavailableReason();
        if (UnavailableReason is null)
        {
            _cluster = await PatroniCluster.StartAsync(new PatroniClusterOptions(), TestContext.Current.CancellationToken);
            TestContext.Current.SendDiagnosticMessage($"Patroni cluster healthy after {_cluster.StartupDuration.TotalSeconds:0.0} s");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
