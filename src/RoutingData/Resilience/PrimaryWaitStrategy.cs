using Polly;

namespace RoutingData.Resilience;

/// <summary>Holds a command that needs the primary until the monitor knows one (bounded); see <see cref="PrimaryWaitStrategyOptions"/>.</summary>
internal sealed class PrimaryWaitStrategy(PrimaryWaitStrategyOptions options) : ResilienceStrategy
{
    protected override async ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback,
        ResilienceContext context,
        TState state)
    {
        // A primary a connection attempt just failed to reach counts as none until a probe sent after that failure answers.
        if (context.Properties.TryGetValue(CommandAttempt.Key, out var attempt) && !attempt.Routed && attempt.NeedsPrimary
            && (attempt.Snapshot.Primary is null || attempt.Snapshot.Primary.Host.IsUnreachable))
        {
            var freshAfter = attempt.Snapshot.Primary?.Host.UnreachableSince ?? 0;
            var dataSource = attempt.Connection.ReplicatedDataSource;
            var maxWait = options.MaxWait ?? dataSource.Options.MaxWaitForPrimary;
            if (maxWait > TimeSpan.Zero)
            {
                try
                {
                    attempt.Snapshot = await dataSource.Monitor.WaitForPrimaryAsync(maxWait, freshAfter, attempt.Async, context.CancellationToken).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    return Outcome.FromException<TResult>(e);
                }
            }
        }

        return await callback(context, state).ConfigureAwait(false);
    }
}
