using RoutingData.Testing;
using RoutingData.Testing.Xunit;

namespace RoutingData.Tool.Tests;

/// <summary>A primary and two replicas with SCRAM passwords, so a password is in every connection string the tool gets.</summary>
public sealed class ToolClusterFixture : SharedClusterFixture
{
    protected override PostgresClusterOptions CreateOptions() => new() { Replicas = 2, Authentication = ClusterAuthentication.ScramSha256 };
}
