using Npgsql;

namespace RoutingData.Routing;

/// <summary>A command or batch the connection routes: it binds its <see cref="NpgsqlBatch"/> to the chosen host and hears where it ran.</summary>
internal interface IRoutedExecutable
{
    /// <summary>Gets a value indicating whether the batch is prepared on each physical connection before it runs.</summary>
    bool PrepareRequested { get; }

    /// <summary>Points the batch at the chosen connection and arranges the consistency statements around it.</summary>
    NpgsqlBatch Bind(in ExecutionRequest request);

    void OnRouted(in RouteInfo route);

    /// <summary>A standby refused the statement (see <see cref="StandbyRefusal"/>): remember that it needs the primary, and whether it writes.</summary>
    void OnRefusedByStandby(Npgsql.PostgresException error, bool wrote);
}
