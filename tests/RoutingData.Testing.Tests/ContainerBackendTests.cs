using Xunit;

namespace RoutingData.Testing.Tests;

/// <summary>
/// The Testcontainers backend runs the same API in containers. It needs a Docker engine; where none
/// answers, these tests are skipped with the reason the engine check gave.
/// </summary>
public sealed class ContainerBackendTests
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Containers_stream_promote_and_lag_like_local_nodes()
    {
        var unavailable = await DockerEngine.GetUnavailableReasonAsync(_ct);
        Assert.SkipWhen(unavailable is not null, unavailable ?? string.Empty);

        await using var cluster = await PostgresCluster.StartAsync(
            new PostgresClusterOptions { Backend = ClusterBackendKind.Testcontainers, Replicas = 1 }, _ct);
        var replica = cluster.Replicas[0];
        await cluster.Primary.ExecuteAsync("CREATE TABLE c (id int); INSERT INTO c VALUES (1)", _ct);
        await replica.WaitForReplayAsync(await cluster.Primary.GetLsnAsync(_ct), TimeSpan.FromSeconds(30), _ct);
        Assert.Equal(1, await replica.ExecuteScalarAsync<int>("SELECT id FROM c", _ct));

        await replica.SetReplayDelayAsync(TimeSpan.FromMilliseconds(200), _ct);
        await cluster.Primary.KillAsync(_ct);
        await cluster.PromoteAsync(replica, _ct);
        Assert.Equal(2, await replica.GetTimelineAsync(_ct));
    }

    [Fact]
    public async Task Without_a_docker_engine_the_backend_fails_with_the_reason()
    {
        var unavailable = await DockerEngine.GetUnavailableReasonAsync(_ct);
        Assert.SkipWhen(unavailable is null, "A Docker engine answers here, so the no-engine error cannot be observed.");

        var error = await Assert.ThrowsAsync<ClusterHarnessException>(
            () => PostgresCluster.StartAsync(new PostgresClusterOptions { Backend = ClusterBackendKind.Testcontainers }, _ct));
        Assert.Contains(unavailable!, error.Message, StringComparison.Ordinal);
    }
}
