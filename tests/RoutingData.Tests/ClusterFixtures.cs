using RoutingData.Testing;
using RoutingData.Testing.Xunit;

namespace RoutingData.Tests;

/// <summary>
/// One primary and two replicas shared by the routing tests that do not break the cluster. It authenticates with
/// SCRAM-SHA-256 over TLS (verified), as production clusters do, so the routing suite runs over both.
/// </summary>
public sealed class RoutingClusterFixture : SharedClusterFixture
{
    protected override PostgresClusterOptions CreateOptions()
    {
        var options = new PostgresClusterOptions { Replicas = 2, Authentication = ClusterAuthentication.ScramSha256, UseTls = true };

        // Replicas cancel conflicting queries at once, so recovery-conflict tests need no long waits.
        options.ServerSettings["max_standby_streaming_delay"] = "0";
        return options;
    }
}
