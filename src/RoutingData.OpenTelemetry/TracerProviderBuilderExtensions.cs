using RoutingData;

namespace OpenTelemetry.Trace;

/// <summary>Registers RoutingData's activity source with an OpenTelemetry tracer provider.</summary>
public static class TracerProviderBuilderExtensions
{
    /// <summary>
    /// Enables RoutingData's spans: <c>routingdata.route</c> per attempt of a routed command (the parent of Npgsql's
    /// command span), <c>routingdata.failover</c> from the loss of the primary to the confirmation of the next one, with
    /// an event per phase, and <c>routingdata.fence</c> when a stale primary is fenced.
    /// </summary>
    /// <remarks>
    /// Npgsql's own command spans come from its <c>Npgsql</c> source (<c>AddNpgsql()</c> from Npgsql.OpenTelemetry, or
    /// <c>AddSource("Npgsql")</c>). With both enabled, each command span of the application's carries the routing tags
    /// <c>routingdata.route.role</c> and <c>routingdata.route.reason</c> as well. RoutingData's own probes and position
    /// captures are never traced.
    /// </remarks>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static TracerProviderBuilder AddRoutingDataInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(RoutingDiagnostics.ActivitySourceName);
    }
}
