using System.Data;
using Npgsql;
using RoutingData.Consistency;

namespace RoutingData.Routing;

/// <summary>One execution of a routed command or batch on a chosen physical connection.</summary>
internal readonly record struct ExecutionRequest(
    RoutedConnection Owner,
    NpgsqlConnection Connection,
    NpgsqlTransaction? Transaction,
    CommandBehavior Behavior,
    CaptureTarget Capture,
    bool Async,
    CancellationToken CancellationToken,
    IRoutedExecutable? Executable = null);
