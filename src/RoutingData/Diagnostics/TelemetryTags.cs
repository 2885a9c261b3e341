using Npgsql;

namespace RoutingData.Diagnostics;

/// <summary>Attribute names of RoutingData's metrics and spans: OpenTelemetry's where they apply, <c>routingdata.*</c> otherwise.</summary>
internal static class TelemetryTags
{
    public const string DbSystemName = "db.system.name";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";
    public const string ErrorType = "error.type";
    public const string RouteRole = "routingdata.route.role";
    public const string RouteReason = "routingdata.route.reason";
    public const string RouteDetail = "routingdata.route.detail";
    public const string HostRole = "routingdata.host.role";
    public const string FailoverOutcome = "routingdata.failover.outcome";
    public const string WaitKind = "routingdata.wait.kind";
    public const string WaitOutcome = "routingdata.wait.outcome";

    /// <summary>
    /// OpenTelemetry's <c>error.type</c>: the SQLSTATE of a server error (a bounded set), else the exception's full type
    /// name. Never a message (it may hold values from the statement).
    /// </summary>
    public static string ErrorTypeOf(Exception error) =>
        error is PostgresException postgres ? postgres.SqlState : error.GetType().FullName ?? "_OTHER";
}
