using Npgsql;
using Polly;
using Polly.Telemetry;
using RoutingData.Consistency;
using RoutingData.Routing;

namespace RoutingData.Resilience;

/// <summary>
/// Decides, in one place, which failed attempts of a routed command run again and where (see
/// <see cref="RerouteStrategyOptions"/>). Outside a RoutingData command (no <see cref="CommandAttempt"/>) it does nothing.
/// </summary>
internal sealed class RerouteStrategy(RerouteStrategyOptions options, ResilienceStrategyTelemetry telemetry) : ResilienceStrategy
{
    private static readonly ResilienceEvent RerouteEvent = new(ResilienceEventSeverity.Warning, "OnReroute");

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))] // Once per command.
    protected override async ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback,
        ResilienceContext context,
        TState state)
    {
        if (!context.Properties.TryGetValue(CommandAttempt.Key, out var attempt))
        {
            return await callback(context, state).ConfigureAwait(false);
        }

        while (true)
        {
            var outcome = await callback(context, state).ConfigureAwait(false);
            if (NextCause(outcome.Exception, attempt, options) is not { } cause)
            {
                return outcome;
            }

            var failure = attempt.Failure!;

            var failedOn = attempt.Route ?? attempt.Decision.ToRouteInfo();
            try
            {
                await RerouteAsync(attempt, cause, failure).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Nowhere to go (no primary, no replica, a policy that throws): that is the command's outcome.
                return Outcome.FromException<TResult>(e);
            }

            var arguments = new OnRerouteArguments(context, cause, failure, failedOn, attempt.Decision.ToRouteInfo());
            telemetry.Report(RerouteEvent, context, arguments);
            if (options.OnReroute is { } onReroute)
            {
                await onReroute(arguments).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Why the attempt that ended with <paramref name="error"/> runs again; null when its outcome is final.</summary>
    internal static RerouteCause? NextCause(Exception? error, CommandAttempt attempt, RerouteStrategyOptions options) =>
        // A typed outcome (rolled back, outcome unknown) is final: it says the command must not simply run again.
        error is null or CommandOutcomeUnknownException or TransactionRolledBackException || attempt.Failure is not { } failure
            ? null
            : Cause(attempt, failure, options);

    /// <summary>What may run again: only what provably did nothing anywhere, or only read, and nothing of a transaction.</summary>
    internal static RerouteCause? Cause(CommandAttempt attempt, Exception failure, RerouteStrategyOptions options)
    {
        if (attempt.InTransaction)
        {
            return null; // The transaction's session is gone with its host: the caller gets a typed outcome instead.
        }

        var role = attempt.Decision.Role;
        if (!attempt.Sent)
        {
            // Nothing was sent. A connection pinned by session state cannot move: its SETs and temp tables stay behind.
            // A command that already spent its time waiting for a primary does not try the primary again.
            var dataSource = attempt.Connection.ReplicatedDataSource;
            return attempt.Routed
                && attempt.UnreachableReroutes < options.MaxUnreachableReroutes
                && RoutedConnection.IsHostFailure(failure)
                && !(role == HostRole.Primary && (attempt.Connection.IsPinnedToPrimary || attempt.PrimaryWaitExhausted(dataSource.TimeProvider)))
                ? RerouteCause.HostUnreachable
                : null;
        }

        if (failure is StaleReplicaException && attempt.RequiredReplayLsn != 0)
        {
            return RerouteCause.ReplicaBehind;
        }

        if (role == HostRole.Replica && failure is PostgresException refused && !attempt.StandbyRetried && StandbyRefusal.Is(refused, out _))
        {
            return RerouteCause.RefusedByStandby;
        }

        if (role == HostRole.Replica && options.RetryRecoveryConflicts && !attempt.ConflictRetried && failure is PostgresException conflict && IsRecoveryConflict(conflict))
        {
            return RerouteCause.RecoveryConflict;
        }

        // A read (proved read-only by the classifier, not made a write by a standby's refusal) changed nothing: it may run again.
        return options.RetryReadsOnConnectionLoss
            && !attempt.ConnectionLossRetried
            && attempt.Classification.IsRead
            && !attempt.Classification.PinsSession
            && !attempt.RefusedByStandby
            && !attempt.Connection.IsPinnedToPrimary
            && RoutedConnection.IsHostFailure(failure)
            ? RerouteCause.ReadConnectionLost
            : null;
    }

    internal static bool IsRecoveryConflict(PostgresException e) =>
        e.SqlState == PostgresErrorCodes.SerializationFailure && e.MessageText.Contains("conflict with recovery", StringComparison.OrdinalIgnoreCase);

    /// <summary>Where it runs again: sets the attempt's next decision, or throws when no host can take it.</summary>
    private static async ValueTask RerouteAsync(CommandAttempt attempt, RerouteCause cause, Exception failure)
    {
        var connection = attempt.Connection;
        var dataSource = connection.ReplicatedDataSource;
        var monitor = dataSource.Monitor;
        var decision = attempt.Decision;
        var detail = decision.Detail;
        attempt.RequiredReplayLsn = 0;
        switch (cause)
        {
            case RerouteCause.HostUnreachable:
                attempt.UnreachableReroutes++;
                if (decision.Role == HostRole.Primary)
                {
                    // Only a probe round that started after the failure can say where the primary is now.
                    var failedAt = monitor.Now;
                    monitor.ReportDoubt();
                    var fresh = attempt.Snapshot = await WaitForPrimaryAsync(attempt, failedAt).ConfigureAwait(false);
                    attempt.Decision = Router.RouteWrite(fresh, decision.Reason, detail);
                }
                else
                {
                    monitor.ReportDoubt();
                    attempt.Decision = ReadElsewhere(attempt, decision.Host, RoutingReason.HostFailureRetry, failure);
                }

                break;

            case RerouteCause.ReplicaBehind:
                decision.Host.RecordStaleCheck(attempt.Position.MinLsn);
                var fallback = Router.RouteWrite(monitor.Snapshot, RoutingReason.NotCaughtUp, attempt.Classification.Reason);
                attempt.Decision = await connection.ResolveNotCaughtUpAsync(monitor.Snapshot, attempt, fallback).ConfigureAwait(false);
                break;

            case RerouteCause.RefusedByStandby:
                // Nothing ran on the standby: run it on the primary, once. If it turned out to write, from now on it is a
                // write (capture after its commit, pending mark) that may also have left session state: pin. Either way
                // the classifier remembers the text.
                StandbyRefusal.Is((PostgresException)failure, out var wrote);
                attempt.StandbyRetried = true;
                dataSource.Logger.ReadOnlyRetry(decision.Host.Endpoint.Name, detail);
                RoutingDiagnostics.RecordRetry(RoutingReason.ReadOnlyRetry);
                attempt.Target.OnRefusedByStandby((PostgresException)failure, wrote);
                attempt.RefusedByStandby = wrote;
                if (wrote)
                {
                    connection.PinToPrimary();
                }

                attempt.Decision = Router.RouteWrite(monitor.Snapshot, RoutingReason.ReadOnlyRetry, detail);
                break;

            case RerouteCause.RecoveryConflict:
                attempt.ConflictRetried = true;
                attempt.Decision = ReadElsewhere(attempt, decision.Host, RoutingReason.RecoveryConflictRetry, failure);
                dataSource.Logger.RecoveryConflictRetry(decision.Host.Endpoint.Name);
                RoutingDiagnostics.RecordRetry(RoutingReason.RecoveryConflictRetry);
                break;

            default:
                attempt.ConnectionLossRetried = true;
                monitor.ReportDoubt();
                attempt.Decision = decision.Role == HostRole.Primary
                    ? await ReadAfterPrimaryLossAsync(attempt, decision.Host).ConfigureAwait(false)
                    : ReadElsewhere(attempt, decision.Host, RoutingReason.HostFailureRetry, failure);

                // Logged and counted once it is known to run again.
                dataSource.Logger.HostFailureRetry(decision.Host.Endpoint.Name, failure.Message);
                RoutingDiagnostics.RecordRetry(RoutingReason.HostFailureRetry);
                break;
        }
    }

    /// <summary>
    /// The primary died under a read: a replica that has the session's position takes it now; otherwise it waits
    /// (bounded) for a probe round after the failure to say where the primary is.
    /// </summary>
    private static async ValueTask<RoutingDecision> ReadAfterPrimaryLossAsync(CommandAttempt attempt, Topology.HostRuntime failed)
    {
        var failedAt = attempt.Connection.ReplicatedDataSource.Monitor.Now;
        if (OtherHost(attempt, failed, RoutingReason.HostFailureRetry, out _) is { } elsewhere)
        {
            return elsewhere;
        }

        var fresh = attempt.Snapshot = await WaitForPrimaryAsync(attempt, failedAt).ConfigureAwait(false);
        return Router.RouteWrite(fresh, RoutingReason.HostFailureRetry, attempt.Decision.Detail);
    }

    /// <summary>
    /// Waits, within what is left of the command's deadline, for a probe round that started after the failure to report
    /// a primary; each such wait is one sample of the primary-wait metric, so a failover's reroutes show there too.
    /// </summary>
    private static async ValueTask<Topology.ClusterSnapshot> WaitForPrimaryAsync(CommandAttempt attempt, long failedAt)
    {
        var dataSource = attempt.Connection.ReplicatedDataSource;
        var timeProvider = dataSource.TimeProvider;
        var monitor = dataSource.Monitor;
        var startedAt = timeProvider.GetTimestamp();
        var snapshot = await monitor.WaitForPrimaryAsync(attempt.PrimaryWaitLeft(dataSource.Options.MaxWaitForPrimary, timeProvider), failedAt, attempt.Async, attempt.CancellationToken).ConfigureAwait(false);

        // Found: a round after the failure reported a primary. A wait that ran out returns the newest snapshot, whose
        // primary may be the very host that failed: that one is tried again, but the wait timed out.
        RoutingDiagnostics.RecordPrimaryWait(snapshot.Primary is not null && monitor.PublishedRoundStartedAt > failedAt, timeProvider.GetElapsedTime(startedAt));
        return snapshot;
    }

    /// <summary>
    /// The read on another host that has the session's position, else on the primary; but never on the primary for a
    /// <see cref="ReadPreference.Replica"/> read, nor for a read that finds no eligible replica with
    /// <see cref="ReplicatedDbOptions.FallbackToPrimary"/> off (unless no primary is known: then the read, waiting in a
    /// failover's gap, goes on waiting and is routed afresh, with its policy, once a host turns up).
    /// </summary>
    private static RoutingDecision ReadElsewhere(CommandAttempt attempt, Topology.HostRuntime failed, RoutingReason reason, Exception failure)
    {
        if (OtherHost(attempt, failed, reason, out var refusal) is { } other)
        {
            return other;
        }

        var snapshot = attempt.Connection.ReplicatedDataSource.Monitor.Snapshot;
        var replicaOnly = RoutingRules.EffectivePreference(attempt.Classification, attempt.CommandPreference, attempt.Connection) == ReadPreference.Replica;
        if (replicaOnly || (refusal is not null && snapshot.Primary is not null))
        {
            throw new NoSuitableHostException(
                replicaOnly
                    ? $"The read failed on {failed.Endpoint.Name} ({failure.Message}), and with read preference Replica it does not fall back to the primary: no other replica that has the session's position can take it. Hosts: {snapshot.Describe()}"
                    : $"The read failed on {failed.Endpoint.Name} ({failure.Message}), and no other host its read preference allows can take it: {refusal!.Message}",
                failure);
        }

        return Router.RouteWrite(snapshot, reason, attempt.Decision.Detail);
    }

    /// <summary>
    /// Another host the read may use (per its preference and the session's position); null if none. <paramref name="refusal"/>
    /// is routing's own refusal when the preference allows no host at all (not for want of a primary).
    /// </summary>
    private static RoutingDecision? OtherHost(CommandAttempt attempt, Topology.HostRuntime failed, RoutingReason reason, out NoSuitableHostException? refusal)
    {
        var connection = attempt.Connection;
        var dataSource = connection.ReplicatedDataSource;
        var preference = RoutingRules.EffectivePreference(attempt.Classification, attempt.CommandPreference, connection);
        var request = new ReadRequest(preference, attempt.Decision.Detail, MinLsn: attempt.Position.MinLsn, Only: attempt.Position.OnlyReplica, Exclude: failed);
        refusal = null;
        try
        {
            var retry = dataSource.Router.RouteRead(dataSource.Monitor.Snapshot, request, out var notCaughtUp);
            return notCaughtUp || retry.Host is null || retry.Host == failed ? null : retry with { Reason = reason };
        }
        catch (NoSuitableHostException e)
        {
            refusal = e.NoPrimary ? null : e;
            return null;
        }
    }
}
