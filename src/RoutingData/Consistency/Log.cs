using Microsoft.Extensions.Logging;

namespace RoutingData.Consistency;

internal static partial class Log
{
    [LoggerMessage(RoutingDataEventId.PositionCaptureFailed, LogLevel.Warning, "Capturing the primary's WAL position failed ({Failures} in a row); sessions waiting for it read from the primary: {Error}")]
    public static partial void PositionCaptureFailed(this ILogger logger, int failures, string error);
}
