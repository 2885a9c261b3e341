using System.Data.Common;
using RoutingData.Consistency;

namespace RoutingData.Routing;

/// <summary>The three ADO.NET executions of a routed command or batch, as cached delegates (no allocation per call).</summary>
internal static class BatchOperations<TTarget>
    where TTarget : IRoutedExecutable
{
    public static readonly Func<TTarget, ExecutionRequest, ValueTask<int>> NonQuery =
        static (target, request) => target.PrepareRequested
            ? BatchExecutor.PrepareThenAsync(target.Bind(request), request, static (b, r) => BatchExecutor.NonQueryAsync(b, r.Capture, r.Async, r.CancellationToken))
            : BatchExecutor.NonQueryAsync(target.Bind(request), request.Capture, request.Async, request.CancellationToken);

    public static readonly Func<TTarget, ExecutionRequest, ValueTask<object?>> Scalar =
        static (target, request) => target.PrepareRequested
            ? BatchExecutor.PrepareThenAsync(target.Bind(request), request, static (b, r) => BatchExecutor.ScalarAsync(b, r.Capture, r.Async, r.CancellationToken))
            : BatchExecutor.ScalarAsync(target.Bind(request), request.Capture, request.Async, request.CancellationToken);

    public static readonly Func<TTarget, ExecutionRequest, ValueTask<DbDataReader>> Reader =
        static (target, request) => target.PrepareRequested
            ? BatchExecutor.PrepareThenAsync(target.Bind(request), request, static (b, r) => BatchExecutor.ReaderAsync(b, r))
            : BatchExecutor.ReaderAsync(target.Bind(request), request);
}
