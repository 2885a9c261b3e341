namespace RoutingData.Testing;

/// <summary>Where the cluster's servers run.</summary>
public enum ClusterBackendKind
{
    /// <summary>The PostgreSQL server binaries installed on this machine, on loopback ports (the default).</summary>
    Local,

    /// <summary>One Docker container per node through Testcontainers; needs a Docker engine that answers.</summary>
    Testcontainers,
}
