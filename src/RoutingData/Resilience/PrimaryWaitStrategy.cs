using Polly;

namespace RoutingData.Resilience;

/// <summary>Holds a command that needs the primary until the monitor knows one (bounded); see <see cref="PrimaryWaitStrategyOptions"/>.</summary>
internal sealed class PrimaryWaitStrategy(PrimaryWaitStrategyOptions options) : ResilienceStrategy
{
    protected override ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback,
        ResilienceContext context,
        TState state)
    {
        // A primary a connection attempt just failed to reach counts as none until a probe sent after that failure answers.
        if (context.Properties.TryGetValue(CommandAttempt.Key, out var attempt) && MustWait(attempt))
        {
            return WaitThenExecuteAsync(callback, context, state, attempt);
        }

        // Nearly always: nothing to wait for, and no state machine of its own.
        return callback(context, state);
    }

    /// <summary>Whether the attempt has not been routed yet, needs the primary, and none is known to be reachable.</summary>
    internal static bool MustWait(CommandAttempt attempt) =>
        !attempt.Routed && attempt.NeedsPrimary && (attempt.Snapshot.Primary is null || attempt.Snapshot.Primary.Host.IsUnreachable);

    private async ValueTask<Outcome<TResult>> WaitThenExecuteAsync<TResult, TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback,
        ResilienceContext context,
        TState state,
        CommandAttempt attempt)
    {
        var freshAfter = attempt.Snapshot.Primary?.Host.UnreachableSince ?? 0;
        var dataSource = attempt.Connection.ReplicatedDataSource;
        var maxWait = options.MaxWait ?? dataSource.Options.MaxWaitForPrimary;
        if (maxWait > TimeSpan.Zero)
        {
            try
            {
                var startedAt = dataSource.TimeProvider.GetTimestamp();
                attempt.Snapshot = await dataSource.Monitor.WaitForPrimaryAsync(maxWait, freshAfter, attempt.Async, context.CancellationToken).ConfigureAwait(false);
                RoutingDiagnostics.RecordPrimaryWait(attempt.Snapshot.Primary is not null, dataSource.TimeProvider.GetElapsedTime(startedAt));
            }
            catch (Exception e)
            {
                return Outcome.FromException<TResult>(e);
            }
        }

        return await callback(context, state).ConfigureAwait(false);
    }
}
