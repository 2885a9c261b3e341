using RoutingData;

namespace OpenTelemetry.Metrics;

/// <summary>Registers RoutingData's meter with an OpenTelemetry meter provider.</summary>
public static class MeterProviderBuilderExtensions
{
    /// <summary>
    /// Enables RoutingData's metrics: commands by route, role and reason; their duration; retries; replica lag (bytes
    /// and seconds) and read eligibility per host; host health, role changes and fences; failovers and their duration;
    /// the waits of consistency sessions and of writes for a primary; commands in flight per host.
    /// </summary>
    /// <remarks>
    /// Histograms carry bucket boundaries as instrument advice (seconds, from 1 ms), which the OpenTelemetry SDK uses
    /// unless a view says otherwise. Connection pool metrics (<c>db.client.connection.*</c>) come from Npgsql's own
    /// <c>Npgsql</c> meter, one pool per host and use, named <c>RoutingData host:port</c> (primary use),
    /// <c>RoutingData host:port (reads)</c> (replica reads) and <c>RoutingData host:port (internal)</c>.
    /// </remarks>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static MeterProviderBuilder AddRoutingDataInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(RoutingDiagnostics.MeterName);
    }
}
