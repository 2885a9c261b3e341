using Microsoft.Extensions.Logging;

namespace RoutingData.AspNetCore;

internal static partial class Log
{
    [LoggerMessage(EventId = RoutingDataEventId.InvalidSessionToken, Level = LogLevel.Warning, Message = "The request's consistency token (from the {Source}) is not valid here and was {Handling}: {Problem}")]
    public static partial void InvalidSessionToken(this ILogger logger, string source, string handling, string problem);

    [LoggerMessage(EventId = RoutingDataEventId.SessionNotWrittenBack, Level = LogLevel.Warning, Message = "The request's consistency session could not be written back; the client's next request may read older data than this one wrote.")]
    public static partial void SessionNotWrittenBack(this ILogger logger, Exception exception);
}
