namespace RoutingData.Testing.Backends;

/// <summary>Creates the places nodes live in, and removes them all when the cluster is disposed.</summary>
internal abstract class ClusterBackend : IAsyncDisposable
{
    /// <summary>A short name for messages: "local binaries in /tmp/…" or "Testcontainers (postgres:15)".</summary>
    public abstract string Description { get; }

    /// <summary>The folder on this machine that belongs to the cluster (logs are preserved from here).</summary>
    public abstract string Directory { get; }

    public abstract Task<NodeHost> CreateNodeAsync(string name, CancellationToken cancellationToken);

    /// <summary>Stops every server process right away; used on dispose and at process exit.</summary>
    public abstract Task StopAllAsync(CancellationToken cancellationToken);

    /// <summary>Copies each node's log into <paramref name="folder"/>.</summary>
    public abstract Task PreserveLogsAsync(string folder, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}
