using Microsoft.Extensions.Logging;

namespace RoutingData.Topology;

internal static partial class Log
{
    [LoggerMessage(RoutingDataEventId.HostStateChanged, LogLevel.Information, "Host {Host} is now {Health} ({Role}, timeline {Timeline})")]
    public static partial void HostStateChanged(this ILogger logger, string host, HostHealth health, string role, int timeline);

    [LoggerMessage(RoutingDataEventId.ProbeFailed, LogLevel.Warning, "Probe of host {Host} failed ({Failures} in a row), next in {Backoff}: {Error}")]
    public static partial void ProbeFailed(this ILogger logger, string host, int failures, TimeSpan backoff, string error);

    [LoggerMessage(RoutingDataEventId.PrimaryChanged, LogLevel.Warning, "Primary changed from {OldPrimary} to {NewPrimary}")]
    public static partial void PrimaryChanged(this ILogger logger, string oldPrimary, string newPrimary);

    [LoggerMessage(RoutingDataEventId.ClusterMismatch, LogLevel.Error, "Refusing to route: {Message}")]
    public static partial void ClusterMismatch(this ILogger logger, string message);

    [LoggerMessage(RoutingDataEventId.FunctionCatalogLoaded, LogLevel.Debug, "Function catalog loaded from {Host}")]
    public static partial void FunctionCatalogLoaded(this ILogger logger, string host);

    [LoggerMessage(RoutingDataEventId.FunctionCatalogFailed, LogLevel.Warning, "Loading the function catalog from {Host} failed; unknown functions keep going to the primary: {Error}")]
    public static partial void FunctionCatalogFailed(this ILogger logger, string host, string error);

    [LoggerMessage(RoutingDataEventId.FastProbing, LogLevel.Information, "The primary is in doubt: probing every host every {Interval} until a primary is confirmed")]
    public static partial void FastProbing(this ILogger logger, TimeSpan interval);

    [LoggerMessage(RoutingDataEventId.TimelineHistoryUnreadable, LogLevel.Warning, "The timeline history of {Host} (timeline {Timeline}) cannot be read, so sessions from older timelines cannot be shown to survive the failover: their reads go to the primary until they move to the new timeline. {Problem}")]
    public static partial void TimelineHistoryUnreadable(this ILogger logger, string host, int timeline, string problem);

    [LoggerMessage(RoutingDataEventId.TimelineHistoryFailed, LogLevel.Debug, "Reading the timeline history of {Host} (timeline {Timeline}) failed; trying again next round: {Error}")]
    public static partial void TimelineHistoryFailed(this ILogger logger, string host, int timeline, string error);

    [LoggerMessage(RoutingDataEventId.TopologySourceReported, LogLevel.Information, "{Source} says {Report}; {Response}")]
    public static partial void TopologySourceReported(this ILogger logger, string source, string report, string response);

    [LoggerMessage(EventId = RoutingDataEventId.TopologySourceFailed, Message = "Topology source {Source} failed ({Failures} in a row); probing goes on without it: {Error}")]
    public static partial void TopologySourceFailed(this ILogger logger, LogLevel level, string source, int failures, string error);

    [LoggerMessage(RoutingDataEventId.TopologySourceLeaderUnknown, LogLevel.Warning, "{Source} names leader {Leader}, which is not one of the configured hosts ({Hosts}): name the hosts in the connection string as {Source} does")]
    public static partial void TopologySourceLeaderUnknown(this ILogger logger, string source, string leader, string hosts);

    [LoggerMessage(RoutingDataEventId.HostFenced, LogLevel.Warning, "Host {Host} claims to be primary on timeline {Timeline}, behind a primary seen on timeline {NewestTimeline}: fenced, nothing is written there")]
    public static partial void HostFenced(this ILogger logger, string host, int timeline, int newestTimeline);

    [LoggerMessage(RoutingDataEventId.ReplicaExcluded, LogLevel.Warning, "Replica {Host} takes no reads: {LagBytes} bytes and {Lag} behind the primary, timeline {Timeline} (past the lag bound, or another timeline); back once well within the bound (LagReadmitFraction)")]
    public static partial void ReplicaExcluded(this ILogger logger, string host, long lagBytes, TimeSpan? lag, int timeline);

    [LoggerMessage(RoutingDataEventId.ReplicaReadmitted, LogLevel.Information, "Replica {Host} takes reads again ({LagBytes} bytes behind the primary)")]
    public static partial void ReplicaReadmitted(this ILogger logger, string host, long lagBytes);

    [LoggerMessage(RoutingDataEventId.FailoverStarted, LogLevel.Warning, "Failover: the primary {OldPrimary} (timeline {Timeline}) is lost; looking for the next one")]
    public static partial void FailoverStarted(this ILogger logger, string oldPrimary, int timeline);

    [LoggerMessage(RoutingDataEventId.FailoverCompleted, LogLevel.Warning, "Failover: {NewPrimary} (timeline {Timeline}) is the confirmed primary after {OldPrimary}, {Duration} after the loss ({Outcome})")]
    public static partial void FailoverCompleted(this ILogger logger, string oldPrimary, string newPrimary, int timeline, TimeSpan duration, string outcome);
}
