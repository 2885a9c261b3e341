using Microsoft.Extensions.Diagnostics.HealthChecks;
using RoutingData;
using RoutingData.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds a health check of the cluster behind the registered <see cref="ReplicatedDataSource"/>.</summary>
public static class ReplicatedDbHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check reporting primary reachability and replica lag, as the data source's topology monitor last saw
    /// them (no query of its own): <paramref name="failureStatus"/> without a reachable primary, degraded when a replica is
    /// down or beyond <see cref="ReplicatedDbOptions.MaxReplicaLag"/>, healthy otherwise; the data lists every host.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status without a reachable primary; null for unhealthy.</param>
    /// <param name="tags">Tags to filter checks by (e.g. <c>ready</c>).</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddReplicatedDb(this IHealthChecksBuilder builder, string name = "replicated-db", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            static provider => new ReplicatedDbHealthCheck(provider.GetRequiredService<ReplicatedDataSource>()),
            failureStatus,
            tags));
    }
}
