using Polly;
using RoutingData.Internal;

namespace RoutingData.Resilience;

/// <summary>Holds a command that needs the primary until the monitor knows one (bounded); see <see cref="PrimaryWaitStrategyOptions"/>.</summary>
internal sealed class PrimaryWaitStrategy(PrimaryWaitStrategyOptions options) : ResilienceStrategy
{
    protected override ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback,
        ResilienceContext context,
        TState state)
    {
        if (!context.Properties.TryGetValue(CommandAttempt.Key, out var attempt))
        {
            return callback(context, state);
        }

        // A primary a connection attempt just failed to reach counts as none until a probe sent after that failure answers.
        // Not while a first attempt's outcome waits to be replayed: that attempt ran, and the outcome decides.
        if (attempt.FirstOutcome is null && MustWait(attempt))
        {
            return WaitThenExecuteAsync(callback, context, state, attempt);
        }

        // Nearly always: nothing to wait for, and no state machine of its own unless the attempt completes later.
        var pending = callback(context, state);
        if (!pending.IsCompletedSuccessfully)
        {
            return WaitIfNoPrimaryAsync(pending, callback, context, state, attempt);
        }

        // Read once: a pooled ValueTask may not be consumed twice.
        var outcome = pending.Result;
        return WaitsAfter(outcome.Exception, attempt, MaxWait(attempt)) ? WaitThenExecuteAsync(callback, context, state, attempt) : new ValueTask<Outcome<TResult>>(outcome);
    }

    /// <summary>Whether the attempt has not been routed yet, needs the primary, and none is known to be reachable.</summary>
    internal static bool MustWait(CommandAttempt attempt) =>
        !attempt.Routed && attempt.NeedsPrimary && (attempt.Snapshot.Primary is null || attempt.Snapshot.Primary.Host.IsUnreachable);

    /// <summary>
    /// Whether a command that could not be routed waits for a primary now: a read that only the primary can serve (the
    /// session's last write has reached no replica yet, or no replica is eligible and FallbackToPrimary is on) while
    /// none is known. Only routing failed, so nothing of it was sent; it waits once, as a write does before routing.
    /// </summary>
    internal static bool WaitsAfter(Exception? error, CommandAttempt attempt, TimeSpan maxWait) =>
        error is NoSuitableHostException { NoPrimary: true } && !attempt.Routed && !attempt.PrimaryWaited && !attempt.InTransaction && maxWait > TimeSpan.Zero;

    private TimeSpan MaxWait(CommandAttempt attempt) => options.MaxWait ?? attempt.Connection.ReplicatedDataSource.Options.MaxWaitForPrimary;

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))] // Once per command of a custom pipeline that completes later.
    private async ValueTask<Outcome<TResult>> WaitIfNoPrimaryAsync<TResult, TState>(
        ValueTask<Outcome<TResult>> pending,
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback,
        ResilienceContext context,
        TState state,
        CommandAttempt attempt)
    {
        var outcome = await pending.ConfigureAwait(false);
        return WaitsAfter(outcome.Exception, attempt, MaxWait(attempt)) ? await WaitThenExecuteAsync(callback, context, state, attempt).ConfigureAwait(false) : outcome;
    }

    /// <summary>
    /// Waits for a primary, then runs the attempt again (routing it from the top). A read that only the primary could
    /// serve also ends its wait when a replica becomes known to have its session's position (the session's last write
    /// had reached it after all, or it became eligible again), and waits again, within the same bound, if routing still
    /// finds neither: in a failover's gap such a read is served as soon as either can take it.
    /// </summary>
    private async ValueTask<Outcome<TResult>> WaitThenExecuteAsync<TResult, TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback,
        ResilienceContext context,
        TState state,
        CommandAttempt attempt)
    {
        attempt.PrimaryWaited = true;
        var freshAfter = attempt.Snapshot.Primary?.Host.UnreachableSince ?? 0;
        var dataSource = attempt.Connection.ReplicatedDataSource;
        var (monitor, timeProvider) = (dataSource.Monitor, dataSource.TimeProvider);
        var maxWait = MaxWait(attempt);
        if (maxWait <= TimeSpan.Zero)
        {
            return await callback(context, state).ConfigureAwait(false);
        }

        var waited = TimeSpan.Zero;
        var refusalPause = new RefusalPause(dataSource.Options.FailoverProbeInterval, dataSource.Options.TopologyProbeInterval);
        while (true)
        {
            var replicaMinLsn = attempt.ReplicaMinLsn;
            var waitStartedAt = timeProvider.GetTimestamp();
            try
            {
                attempt.Snapshot = await monitor.WaitForPrimaryAsync(attempt.PrimaryWaitLeft(maxWait, timeProvider), freshAfter, replicaMinLsn, attempt.Async, context.CancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return Outcome.FromException<TResult>(e);
            }

            waited += timeProvider.GetElapsedTime(waitStartedAt);
            var routedAfter = monitor.PublishedRoundStartedAt;
            var outcome = await callback(context, state).ConfigureAwait(false);
            var noPrimary = outcome.Exception is NoSuitableHostException { NoPrimary: true };
            if (noPrimary && !attempt.Sent && attempt.PrimaryWaitLeft(maxWait, timeProvider) > TimeSpan.Zero)
            {
                // Still no host, and the last attempt sent nothing: routing found neither a primary nor the replica that
                // ended a read's wait (another replica's position, a backoff), or the host it found refused the connection
                // and nowhere else could take it. Route it afresh after a later probe round, within what is left of the bound.
                attempt.Routed = false;
                attempt.RequiredReplayLsn = 0;
                freshAfter = Math.Max(freshAfter, routedAfter);
                if (attempt.UnreachableReroutes > 0)
                {
                    // A host refused the connection: route again after a growing pause, not at the next round. Each
                    // routing gets its own reroutes; the bound, not their count, ends the wait.
                    attempt.UnreachableReroutes = 0;
                    freshAfter = Math.Max(freshAfter, refusalPause.NextRoundAfter(timeProvider));
                }

                continue;
            }

            // One sample per command: the time it spent waiting, and whether the wait found it a host.
            RoutingDiagnostics.RecordPrimaryWait(!noPrimary, waited);
            return outcome;
        }
    }
}
