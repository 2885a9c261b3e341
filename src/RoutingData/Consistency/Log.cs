using Microsoft.Extensions.Logging;

namespace RoutingData.Consistency;

internal static partial class Log
{
    [LoggerMessage(RoutingDataEventId.PositionCaptureFailed, LogLevel.Warning, "Capturing the primary's WAL position failed ({Failures} in a row); sessions waiting for it read from the primary: {Error}")]
    public static partial void PositionCaptureFailed(this ILogger logger, int failures, string error);

    [LoggerMessage(RoutingDataEventId.SessionWritesLost, LogLevel.Warning, "A consistency session's writes were lost in a failover: its token {Token} is past {ForkPoint}, where timeline {NewTimeline} forked off; the session continues on timeline {NewTimeline} ({Policy})")]
    public static partial void SessionWritesLost(this ILogger logger, ConsistencyToken token, NpgsqlTypes.NpgsqlLogSequenceNumber forkPoint, int newTimeline, LostWritesPolicy policy);

    [LoggerMessage(RoutingDataEventId.ForkPointUnknown, LogLevel.Warning, "Sessions on timeline {Timeline} cannot be shown to survive the move to timeline {NewTimeline} ({Reason}): their reads go to the primary until they move to timeline {NewTimeline}, and lost writes cannot be detected")]
    public static partial void ForkPointUnknown(this ILogger logger, int timeline, int newTimeline, string reason);

    [LoggerMessage(RoutingDataEventId.TimelineNotSeen, LogLevel.Warning, "A session's token is on timeline {Timeline}, but no primary newer than timeline {Newest} was seen within {Waited}: its reads fail until the monitor sees the promoted primary")]
    public static partial void TimelineNotSeen(this ILogger logger, int timeline, int newest, TimeSpan waited);
}
