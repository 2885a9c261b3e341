using Polly;
using RoutingData.Resilience;

namespace RoutingData;

/// <summary>
/// Adds RoutingData's strategies to a Polly <see cref="ResiliencePipelineBuilder"/>. Every routed command runs through
/// the data source's pipeline (see <see cref="ReplicatedDataSourceBuilder.ConfigureResilience"/>); the strategies
/// find the command in the <see cref="ResilienceContext"/> and do nothing for anything else.
/// </summary>
public static class RoutingResilienceExtensions
{
    /// <summary>
    /// Adds the default composition: <see cref="AddPrimaryWait"/> then <see cref="AddReroute"/>. A pipeline that
    /// extends the defaults calls this and adds its own strategies before it (around each command) or after it
    /// (around each attempt on one host).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static ResiliencePipelineBuilder AddRoutingDataDefaults(this ResiliencePipelineBuilder builder) =>
        builder.AddDefaultStrategies(new RerouteStrategyOptions());

    /// <summary>The default composition, with the reroute options given (the data source keeps them for its fast path).</summary>
    internal static ResiliencePipelineBuilder AddDefaultStrategies(this ResiliencePipelineBuilder builder, RerouteStrategyOptions reroute) =>
        builder.AddPrimaryWait(new PrimaryWaitStrategyOptions()).AddReroute(reroute);

    /// <summary>Adds the strategy that holds a command needing the primary until one is known (bounded).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="options">The options.</param>
    /// <returns>The builder.</returns>
    public static ResiliencePipelineBuilder AddPrimaryWait(this ResiliencePipelineBuilder builder, PrimaryWaitStrategyOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.AddStrategy(_ => new PrimaryWaitStrategy(options), options);
    }

    /// <summary>Adds the strategy that decides which failed commands run again and where.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="options">The options.</param>
    /// <returns>The builder.</returns>
    public static ResiliencePipelineBuilder AddReroute(this ResiliencePipelineBuilder builder, RerouteStrategyOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.AddStrategy(context => new RerouteStrategy(options, context.Telemetry), options);
    }

    /// <summary>
    /// Describes the routed command a strategy runs for, for strategies of your own (e.g. to retry only reads, or to
    /// log where an attempt went). False outside a RoutingData command.
    /// </summary>
    /// <param name="context">The resilience context passed to the strategy.</param>
    /// <param name="attempt">The command's current attempt.</param>
    /// <returns>Whether the context belongs to a routed command.</returns>
    public static bool TryGetRoutedAttempt(this ResilienceContext context, out RoutedAttemptInfo attempt)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.Properties.TryGetValue(CommandAttempt.Key, out var state))
        {
            attempt = default;
            return false;
        }

        attempt = new RoutedAttemptInfo(
            state.Routed ? state.Decision.ToRouteInfo() : null,
            state.Classification.IsRead && !state.RefusedByStandby,
            state.InTransaction,
            state.Sent);
        return true;
    }
}
