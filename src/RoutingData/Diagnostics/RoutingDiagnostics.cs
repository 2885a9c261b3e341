using System.Diagnostics;
using System.Diagnostics.Metrics;
using Npgsql;
using RoutingData.Diagnostics;
using RoutingData.Topology;

namespace RoutingData;

/// <summary>
/// Names of RoutingData's <see cref="ActivitySource"/> and <see cref="Meter"/>, for OpenTelemetry
/// (<c>AddSource(RoutingDiagnostics.ActivitySourceName)</c>, <c>AddMeter(RoutingDiagnostics.MeterName)</c>, or
/// <c>AddRoutingDataInstrumentation()</c> from the RoutingData.OpenTelemetry package).
/// </summary>
/// <remarks>
/// Every instrument, attribute and span is described in the operations guide (<c>docs/operations.md</c>). Attributes
/// take their values from the configured host list and from enums only: never SQL, tokens or credentials.
/// </remarks>
public static class RoutingDiagnostics
{
    /// <summary>
    /// The name of the activity source: a <c>routingdata.route</c> activity per attempt of a routed command (the parent
    /// of Npgsql's command span, whose tags it also adds there), <c>routingdata.failover</c> from the loss of the primary
    /// to the confirmation of the next one, and <c>routingdata.fence</c> when a stale primary is fenced.
    /// </summary>
    public const string ActivitySourceName = "RoutingData";

    /// <summary>
    /// The name of the meter: <c>routingdata.commands</c>, <c>routingdata.operation.duration</c>, <c>routingdata.retries</c>,
    /// <c>routingdata.lost_writes</c>, <c>routingdata.replica.lag</c>, <c>routingdata.replica.lag.time</c>,
    /// <c>routingdata.replica.eligible</c>, <c>routingdata.host.health</c>, <c>routingdata.host.outstanding</c>,
    /// <c>routingdata.host.role_changes</c>, <c>routingdata.host.fences</c>, <c>routingdata.failovers</c>,
    /// <c>routingdata.failover.duration</c>, <c>routingdata.session.wait.duration</c> and <c>routingdata.primary.wait.duration</c>.
    /// </summary>
    public const string MeterName = "RoutingData";

    internal const string RouteActivityName = "routingdata.route";
    internal const string FailoverActivityName = "routingdata.failover";
    internal const string FenceActivityName = "routingdata.fence";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    // Seconds, as OpenTelemetry's database client conventions advise for operation durations.
    private static readonly double[] DurationBuckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
    private static readonly double[] WaitBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Commands = Meter.CreateCounter<long>("routingdata.commands", "{command}", "Commands routed, by host, role and routing reason; failed ones carry error.type.");
    private static readonly Histogram<double> OperationDuration = Seconds("routingdata.operation.duration", "Duration of routed commands as the caller saw them: routing, waits and every attempt included.", DurationBuckets);

    private static readonly Counter<long> Retries = Meter.CreateCounter<long>("routingdata.retries", "{command}", "Commands re-run on another host (25006 on a replica, recovery conflicts, a replica gone).");
    private static readonly Counter<long> LostWrites = Meter.CreateCounter<long>("routingdata.lost_writes", "{session}", "Consistency sessions whose writes after a timeline's fork point were lost in a failover.");
    private static readonly Counter<long> RoleChanges = Meter.CreateCounter<long>("routingdata.host.role_changes", "{change}", "Hosts seen in a new role (promoted, or demoted to a standby).");
    private static readonly Counter<long> Fences = Meter.CreateCounter<long>("routingdata.host.fences", "{fence}", "Hosts claiming to be primary on a timeline older than a primary seen since: fenced, never written to.");
    private static readonly Counter<long> Failovers = Meter.CreateCounter<long>("routingdata.failovers", "{failover}", "Primaries lost or changed, counted when the next primary is confirmed.");
    private static readonly Histogram<double> FailoverDuration = Seconds("routingdata.failover.duration", "Time from the loss of the primary to the confirmation of the next one.", WaitBuckets);

    private static readonly Histogram<double> SessionWaitDuration = Seconds("routingdata.session.wait.duration", "Waits of consistency sessions: for a pending position capture, or for a replica to replay the session's position.", WaitBuckets);

    private static readonly Histogram<double> PrimaryWaitDuration = Seconds("routingdata.primary.wait.duration", "Waits of commands for a primary: while none is known, or for a probe to find it again after it failed under them.", WaitBuckets);

    // Tag values are interned once so recording allocates nothing.
    private static readonly string[] RoleNames = ["primary", "replica"];
    private static readonly string[] ReasonNames = Enum.GetNames<RoutingReason>();
    private static readonly KeyValuePair<string, object?> SystemTag = new(TelemetryTags.DbSystemName, "postgresql");

    static RoutingDiagnostics()
    {
        Meter.CreateObservableGauge("routingdata.replica.lag", static () => ObservedHosts.Observe(ObservedHosts.Kind.LagBytes), "By", "WAL bytes a replica is behind the primary, by host (replicas only).");
        Meter.CreateObservableGauge("routingdata.replica.lag.time", static () => ObservedHosts.ObserveDouble(), "s", "How far behind the primary a replica is in time, by host (replicas whose lag is known).");
        Meter.CreateObservableGauge("routingdata.replica.eligible", static () => ObservedHosts.Observe(ObservedHosts.Kind.Eligible), "1", "1 while a replica takes reads, 0 while it is excluded (past the lag bound, another timeline).");
        Meter.CreateObservableGauge("routingdata.host.health", static () => ObservedHosts.Observe(ObservedHosts.Kind.Health), "1", "1 while a host answers probes, 0 while it does not; by host and role.");
        Meter.CreateObservableUpDownCounter("routingdata.host.outstanding", static () => ObservedHosts.Observe(ObservedHosts.Kind.Outstanding), "{command}", "Commands in flight on a host (the physical connections RoutingData uses there).");
    }

    private static Histogram<double> Seconds(string name, string description, double[] buckets) =>
        Meter.CreateHistogram(name, "s", description, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = buckets });

    internal static string RoleName(HostRole role) => RoleNames[(int)role];

    internal static string ReasonName(RoutingReason reason) => ReasonNames[(int)reason];

    /// <summary>
    /// A command finished on a host (or failed for good): counted with its route. Called once per successful attempt and
    /// once more for a command that failed for good.
    /// </summary>
    internal static void RecordCommand(in RouteInfo route, HostEndpoint? endpoint, Exception? error = null)
    {
        if (Commands.Enabled)
        {
            var tags = RouteTags(route, endpoint, error);
            Commands.Add(1, in tags);
        }
    }

    /// <summary>Gets a value indicating whether the duration of commands is measured (start timestamps are taken only then).</summary>
    internal static bool MeasuresOperations => OperationDuration.Enabled;

    /// <summary>A routed command ended: its duration, where it last ran (if anywhere) and its error type.</summary>
    internal static void RecordOperation(TimeSpan elapsed, in RouteInfo? route, HostEndpoint? endpoint, Exception? error)
    {
        if (!OperationDuration.Enabled)
        {
            return;
        }

        TagList tags;
        if (route is { } value)
        {
            tags = RouteTags(value, endpoint, error);
        }
        else
        {
            tags = new TagList { SystemTag };
            if (error is not null)
            {
                tags.Add(TelemetryTags.ErrorType, TelemetryTags.ErrorTypeOf(error));
            }
        }

        OperationDuration.Record(elapsed.TotalSeconds, in tags);
    }

    private static TagList RouteTags(in RouteInfo route, HostEndpoint? endpoint, Exception? error)
    {
        var tags = new TagList
        {
            SystemTag,
            new(TelemetryTags.RouteRole, RoleNames[(int)route.Role]),
            new(TelemetryTags.RouteReason, ReasonNames[(int)route.Reason]),
        };
        if (endpoint is not null)
        {
            tags.Add(endpoint.AddressTag);
            tags.Add(endpoint.PortTag);
        }

        if (error is not null || route.Failed)
        {
            tags.Add(TelemetryTags.ErrorType, error is null ? "_OTHER" : TelemetryTags.ErrorTypeOf(error));
        }

        return tags;
    }

    internal static void RecordRetry(RoutingReason reason)
    {
        if (Retries.Enabled)
        {
            Retries.Add(1, new KeyValuePair<string, object?>(TelemetryTags.RouteReason, ReasonNames[(int)reason]));
        }
    }

    internal static void RecordLostWrites(LostWritesPolicy policy)
    {
        if (LostWrites.Enabled)
        {
            LostWrites.Add(1, new KeyValuePair<string, object?>("routingdata.lost_writes.policy", policy == LostWritesPolicy.Throw ? nameof(LostWritesPolicy.Throw) : nameof(LostWritesPolicy.Ignore)));
        }
    }

    internal static void RecordRoleChange(HostEndpoint endpoint, HostRole role)
    {
        if (RoleChanges.Enabled)
        {
            RoleChanges.Add(1, endpoint.AddressTag, endpoint.PortTag, new KeyValuePair<string, object?>(TelemetryTags.HostRole, RoleNames[(int)role]));
        }
    }

    internal static void RecordFence(HostEndpoint endpoint)
    {
        if (Fences.Enabled)
        {
            Fences.Add(1, endpoint.AddressTag, endpoint.PortTag);
        }
    }

    internal static void RecordFailover(string outcome, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>(TelemetryTags.FailoverOutcome, outcome);
        if (Failovers.Enabled)
        {
            Failovers.Add(1, tag);
        }

        if (FailoverDuration.Enabled)
        {
            FailoverDuration.Record(duration.TotalSeconds, tag);
        }
    }

    /// <summary>A consistency session waited: <paramref name="kind"/> is <c>capture</c>, <c>replica</c> or <c>rejoin</c>.</summary>
    internal static void RecordSessionWait(string kind, bool caughtUp, TimeSpan elapsed)
    {
        if (SessionWaitDuration.Enabled)
        {
            SessionWaitDuration.Record(
                elapsed.TotalSeconds,
                new KeyValuePair<string, object?>(TelemetryTags.WaitKind, kind),
                new KeyValuePair<string, object?>(TelemetryTags.WaitOutcome, caughtUp ? "caught_up" : "timed_out"));
        }
    }

    internal static void RecordPrimaryWait(bool found, TimeSpan elapsed)
    {
        if (PrimaryWaitDuration.Enabled)
        {
            PrimaryWaitDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(TelemetryTags.WaitOutcome, found ? "found" : "timed_out"));
        }
    }

    internal static Activity? StartRouteActivity(in RouteInfo route, HostEndpoint endpoint)
    {
        if (!ActivitySource.HasListeners())
        {
            return null;
        }

        var activity = ActivitySource.StartActivity(RouteActivityName, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(TelemetryTags.DbSystemName, "postgresql");
            activity.SetTag(endpoint.AddressTag.Key, endpoint.AddressTag.Value);
            activity.SetTag(endpoint.PortTag.Key, endpoint.PortTag.Value);
            activity.SetTag(TelemetryTags.RouteRole, RoleNames[(int)route.Role]);
            activity.SetTag(TelemetryTags.RouteReason, ReasonNames[(int)route.Reason]);
            activity.SetTag(TelemetryTags.RouteDetail, route.Detail);
        }

        return activity;
    }

    /// <summary>The attempt failed on its host: the route activity says so (error.type, error status).</summary>
    internal static void FailRouteActivity(Activity? activity, Exception error)
    {
        if (activity is { IsAllDataRequested: true })
        {
            var type = TelemetryTags.ErrorTypeOf(error);
            activity.SetTag(TelemetryTags.ErrorType, type);
            activity.SetStatus(ActivityStatusCode.Error, type);
        }
    }

    /// <summary>
    /// Npgsql's enrichment callback for the hosts' application pools: a command span started under a
    /// <c>routingdata.route</c> activity gets its routing tags too, so a trace backend that shows database spans only
    /// still shows where and why each command went.
    /// </summary>
    internal static void EnrichNpgsqlSpan(Activity activity)
    {
        if (activity.Parent is { } parent && ReferenceEquals(parent.Source, ActivitySource) && parent.OperationName == RouteActivityName)
        {
            activity.SetTag(TelemetryTags.RouteRole, parent.GetTagItem(TelemetryTags.RouteRole));
            activity.SetTag(TelemetryTags.RouteReason, parent.GetTagItem(TelemetryTags.RouteReason));
        }
    }

    /// <summary>Configures the Npgsql data sources of one host: routing tags on the application's spans, none for RoutingData's own connections.</summary>
    internal static void ConfigureNpgsqlTracing(NpgsqlDataSourceBuilder builder, bool internalConnections)
    {
        builder.ConfigureTracing(tracing =>
        {
            if (internalConnections)
            {
                // Probes run every interval on every host: as with their logs, they are not the application's commands.
                tracing.ConfigureCommandFilter(static _ => false)
                    .ConfigureBatchFilter(static _ => false)
                    .EnablePhysicalOpenTracing(false);
            }
            else
            {
                tracing.ConfigureCommandEnrichmentCallback(static (activity, _) => EnrichNpgsqlSpan(activity))
                    .ConfigureBatchEnrichmentCallback(static (activity, _) => EnrichNpgsqlSpan(activity));
            }
        });
    }
}
