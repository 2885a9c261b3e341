using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RoutingData.AspNetCore;

/// <summary>
/// Unhealthy without a reachable primary; degraded when a replica is unreachable or too far behind to take reads;
/// healthy otherwise. The data lists each host's role, health and replay lag as the topology monitor last saw them.
/// </summary>
internal sealed class ReplicatedDbHealthCheck(ReplicatedDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await dataSource.WaitForTopologyAsync(cancellationToken).ConfigureAwait(false);
        var hosts = dataSource.GetHosts();
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var primaries = 0;
        var replicasTakingReads = 0;
        var lagging = new List<string>();
        foreach (var host in hosts)
        {
            data[host.Host] = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["role"] = host.Role?.ToString() ?? "unknown",
                ["health"] = host.Health.ToString(),
                ["lagBytes"] = host.LagBytes,
                ["replayDelayMs"] = host.ReplayDelay?.TotalMilliseconds,
                ["takesReads"] = host.TakesReads,
                ["error"] = host.LastError,
            };

            if (host is { Role: HostRole.Primary, Health: HostHealth.Healthy })
            {
                primaries++;
            }
            else if (host.TakesReads)
            {
                replicasTakingReads++;
            }
            else
            {
                lagging.Add(host.Host);
            }
        }

        if (primaries == 0)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"No reachable primary among {hosts.Count} hosts; writes wait or fail.", data: data);
        }

        return lagging.Count == 0
            ? HealthCheckResult.Healthy($"Primary reachable; {replicasTakingReads} replica(s) within the lag bound.", data)
            : HealthCheckResult.Degraded($"Primary reachable; not taking reads (unreachable or beyond the lag bound): {string.Join(", ", lagging)}.", data: data);
    }
}
