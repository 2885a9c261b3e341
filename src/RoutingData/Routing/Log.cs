using Microsoft.Extensions.Logging;

namespace RoutingData.Routing;

internal static partial class Log
{
    [LoggerMessage(RoutingDataEventId.CommandRouted, LogLevel.Debug, "Routed to {Role} {Host}: {Reason} ({Detail})")]
    public static partial void CommandRouted(this ILogger logger, HostRole role, string host, RoutingReason reason, string detail);

    [LoggerMessage(RoutingDataEventId.ReadOnlyRetry, LogLevel.Information, "Replica {Host} refused the statement as read-only (25006); re-running it on the primary. Classifier saw: {Detail}")]
    public static partial void ReadOnlyRetry(this ILogger logger, string host, string detail);

    [LoggerMessage(RoutingDataEventId.RecoveryConflictRetry, LogLevel.Information, "A read on replica {Host} was cancelled by a recovery conflict; re-running it on another host")]
    public static partial void RecoveryConflictRetry(this ILogger logger, string host);

    [LoggerMessage(RoutingDataEventId.SessionPinned, LogLevel.Debug, "Connection pinned to the primary by a session-state statement ({Detail})")]
    public static partial void SessionPinned(this ILogger logger, string detail);

    [LoggerMessage(RoutingDataEventId.HostFailureRetry, LogLevel.Information, "A read on replica {Host} failed with the host ({Error}); re-running it on another host")]
    public static partial void HostFailureRetry(this ILogger logger, string host, string error);
}
