using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RoutingData;

/// <summary>
/// Names of RoutingData's <see cref="ActivitySource"/> and <see cref="Meter"/>, for OpenTelemetry
/// (<c>AddSource(RoutingDiagnostics.ActivitySourceName)</c>, <c>AddMeter(RoutingDiagnostics.MeterName)</c>).
/// </summary>
public static class RoutingDiagnostics
{
    /// <summary>The name of the activity source: one <c>routingdata.route</c> activity per routed command, tagged with the decision.</summary>
    public const string ActivitySourceName = "RoutingData";

    /// <summary>
    /// The name of the meter: counters <c>routingdata.commands</c> (tags <c>role</c>, <c>reason</c>), <c>routingdata.retries</c>
    /// (tag <c>reason</c>) and <c>routingdata.lost_writes</c> (sessions whose writes a failover lost; tag <c>policy</c>).
    /// </summary>
    public const string MeterName = "RoutingData";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Commands = Meter.CreateCounter<long>("routingdata.commands", description: "Commands routed, by host role and routing reason.");
    private static readonly Counter<long> Retries = Meter.CreateCounter<long>("routingdata.retries", description: "Commands re-run on another host (25006 on a replica, recovery conflicts).");
    private static readonly Counter<long> LostWrites = Meter.CreateCounter<long>("routingdata.lost_writes", description: "Consistency sessions whose writes after a timeline's fork point were lost in a failover.");

    // Tag values are interned once so recording allocates nothing.
    private static readonly string[] RoleNames = Enum.GetNames<HostRole>().Select(n => n.ToLowerInvariant()).ToArray();
    private static readonly string[] ReasonNames = Enum.GetNames<RoutingReason>();

    internal static void RecordCommand(in RouteInfo route)
    {
        if (Commands.Enabled)
        {
            Commands.Add(
                1,
                new KeyValuePair<string, object?>("role", RoleNames[(int)route.Role]),
                new KeyValuePair<string, object?>("reason", ReasonNames[(int)route.Reason]),
                new KeyValuePair<string, object?>("outcome", route.Failed ? "error" : "ok"));
        }
    }

    internal static void RecordRetry(RoutingReason reason)
    {
        if (Retries.Enabled)
        {
            Retries.Add(1, new KeyValuePair<string, object?>("reason", ReasonNames[(int)reason]));
        }
    }

    internal static void RecordLostWrites(LostWritesPolicy policy)
    {
        if (LostWrites.Enabled)
        {
            LostWrites.Add(1, new KeyValuePair<string, object?>("policy", policy == LostWritesPolicy.Throw ? nameof(LostWritesPolicy.Throw) : nameof(LostWritesPolicy.Ignore)));
        }
    }

    internal static Activity? StartRouteActivity(in RouteInfo route)
    {
        if (!ActivitySource.HasListeners())
        {
            return null;
        }

        var activity = ActivitySource.StartActivity("routingdata.route", ActivityKind.Internal);
        if (activity is not null)
        {
            activity.SetTag("routingdata.host", route.Host);
            activity.SetTag("routingdata.role", RoleNames[(int)route.Role]);
            activity.SetTag("routingdata.reason", ReasonNames[(int)route.Reason]);
            activity.SetTag("routingdata.detail", route.Detail);
        }

        return activity;
    }
}
