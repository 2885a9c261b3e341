using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;
using RoutingData.Internal;
using RoutingData.Consistency;
using RoutingData.Resilience;
using RoutingData.Routing;
using RoutingData.Topology;
using RoutingData.Sql;

namespace RoutingData;

/// <summary>
/// A logical connection that routes each command: reads to a replica, writes, transactions and session state
/// to the primary. It opens physical connections lazily, at most one per role (primary, replica), borrowed
/// from per-host pools and returned when this connection is closed. Works with plain ADO.NET and Dapper.
/// </summary>
public sealed class RoutedConnection : DbConnection
{
    private readonly ReplicatedDataSource _dataSource;
    private ConnectionState _state;
    private NpgsqlConnection? _primaryConnection;
    private HostRuntime? _fallbackLeaseHost;
    private HostRuntime? _primaryHost;
    private NpgsqlConnection? _replicaConnection;
    private HostRuntime? _replicaHost;
    private RoutedTransaction? _transaction;
    private bool _pinnedToPrimary;
    private ConsistencySession? _explicitSession;
    private ConsistencySession? _ownSession;

    // Readers handed out and not closed yet (at most one per physical connection): closing the connection closes them
    // first, so what they mark on the session is never lost.
    private CapturingDataReader? _openReader;
    private CapturingDataReader? _otherOpenReader;
    private CancellationTokenSource? _attemptCancellation;

    // A closed connection's attempt source, for the next connection opened on this thread (a web request's token
    // makes every command link one): it holds no registration once its connection closed without a reader keeping it.
    [ThreadStatic]
    private static CancellationTokenSource? t_spareCancellation;
    private int _linkedAttempts;

    // A read-only transaction block sent as text (BEGIN READ ONLY; …; COMMIT) ran on that role's physical connection: if
    // it failed part-way, the connection is inside an aborted transaction. The next command there takes a fresh one (the
    // pool's reset rolls the old one back), so it never inherits the block.
    private bool _primaryAfterBlock;
    private bool _replicaAfterBlock;

    internal RoutedConnection(ReplicatedDataSource dataSource, ReadPreference? readPreference)
    {
        _dataSource = dataSource;
        ReadPreference = readPreference;
    }

    /// <summary>
    /// Gets or sets where reads on this connection go, unless a command or a SQL hint says otherwise;
    /// null uses the data source's <see cref="ReplicatedDbOptions.DefaultReadPreference"/>.
    /// </summary>
    public ReadPreference? ReadPreference { get; set; }

    /// <summary>Gets where the last command on this connection ran, and why.</summary>
    public RouteInfo? LastRoute { get; private set; }

    /// <summary>
    /// Gets a value indicating whether a session-state statement (SET, PREPARE, LISTEN, a temp table, a session
    /// advisory lock, …) pinned this connection to the primary; it stays pinned until closed.
    /// </summary>
    public bool IsPinnedToPrimary => _pinnedToPrimary;

    /// <summary>Gets the data source this connection routes for.</summary>
    public ReplicatedDataSource ReplicatedDataSource => _dataSource;

    /// <summary>Gets the cluster's connection string without its password; it cannot be set.</summary>
    [AllowNull]
    public override string ConnectionString
    {
        get => _dataSource.ConnectionString;
        set => throw new NotSupportedException("A RoutedConnection takes its connection string from its ReplicatedDataSource.");
    }

    /// <summary>Gets the database name from the connection string.</summary>
    public override string Database => _dataSource.DatabaseName;

    /// <summary>Gets the host list, as <c>host:port,host:port</c>.</summary>
    public override string DataSource => _dataSource.HostList;

    /// <summary>Gets the primary's server version as its last probe reported it (empty before the first probe).</summary>
    public override string ServerVersion => _dataSource.Monitor.Snapshot.Primary?.ServerVersion ?? string.Empty;

    /// <summary>Gets the logical state: Open between Open and Close, whatever physical connections are held.</summary>
    public override ConnectionState State => _state;

    /// <summary>Gets a value indicating that <see cref="DbBatch"/> is supported.</summary>
    public override bool CanCreateBatch => true;

    /// <summary>Gets the transaction in progress, if any.</summary>
    internal RoutedTransaction? CurrentTransaction => _transaction;

    /// <summary>Marks the connection open. Physical connections are opened by the first command that needs each role.</summary>
    public override void Open()
    {
        ThrowIfOpen();
        _state = ConnectionState.Open;
    }

    /// <summary>Marks the connection open; the first command waits for the first topology probe if it has not finished.</summary>
    /// <param name="cancellationToken">Unused: opening does no I/O.</param>
    /// <returns>A completed task.</returns>
    public override Task OpenAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Open();
        return Task.CompletedTask;
    }

    /// <summary>Returns the physical connections to their pools (rolling back an open transaction) and unpins the session.</summary>
    public override void Close() => SyncPath.Wait(CloseAsync(async: false));

    /// <summary>Returns the physical connections to their pools (rolling back an open transaction) and unpins the session.</summary>
    /// <returns>A task that completes when the physical connections are back in their pools.</returns>
    public override Task CloseAsync() => CloseAsync(async: true).AsTask();

    /// <summary>Not supported: every host of the cluster serves the database named in the connection string.</summary>
    /// <param name="databaseName">Unused.</param>
    public override void ChangeDatabase(string databaseName) =>
        throw new NotSupportedException("ChangeDatabase is not supported by RoutedConnection; create a ReplicatedDataSource for the other database.");

    /// <summary>
    /// Begins a read-only transaction that may run on a replica (by the connection's read preference); on the
    /// primary it is made read-only with <c>SET TRANSACTION READ ONLY</c>. Every command of the transaction runs on its host.
    /// </summary>
    /// <param name="isolationLevel">The isolation level.</param>
    /// <param name="readPreference">Where it may run; null for the connection's read preference.</param>
    /// <param name="cancellationToken">Cancels opening the physical connection.</param>
    /// <returns>The transaction.</returns>
    public async ValueTask<RoutedTransaction> BeginReadOnlyTransactionAsync(IsolationLevel isolationLevel = IsolationLevel.Unspecified, ReadPreference? readPreference = null, CancellationToken cancellationToken = default) =>
        await BeginTransactionCoreAsync(isolationLevel, readOnly: true, readPreference, async: true, cancellationToken).ConfigureAwait(false);

    /// <summary>Begins a read-only transaction that may run on a replica; see <see cref="BeginReadOnlyTransactionAsync"/>.</summary>
    /// <param name="isolationLevel">The isolation level.</param>
    /// <param name="readPreference">Where it may run; null for the connection's read preference.</param>
    /// <returns>The transaction.</returns>
    public RoutedTransaction BeginReadOnlyTransaction(IsolationLevel isolationLevel = IsolationLevel.Unspecified, ReadPreference? readPreference = null) =>
        SyncPath.Result(BeginTransactionCoreAsync(isolationLevel, readOnly: true, readPreference, async: false, CancellationToken.None));

    /// <summary>
    /// Begins a read-write transaction on the primary whose COMMIT returns only after the synchronous standbys have
    /// <em>applied</em> it (<c>SET LOCAL synchronous_commit = remote_apply</c>): its writes are visible there to anyone,
    /// not only to this session. Needs synchronous standbys (<c>synchronous_standby_names</c>); costs the standbys'
    /// apply time at commit.
    /// </summary>
    /// <param name="isolationLevel">The isolation level.</param>
    /// <param name="cancellationToken">Cancels the begin.</param>
    /// <returns>The transaction.</returns>
    public async ValueTask<RoutedTransaction> BeginRemoteApplyTransactionAsync(IsolationLevel isolationLevel = IsolationLevel.Unspecified, CancellationToken cancellationToken = default)
    {
        var transaction = await BeginTransactionCoreAsync(isolationLevel, readOnly: false, null, async: true, cancellationToken).ConfigureAwait(false);
        try
        {
            // Npgsql sends the lazy BEGIN with this statement: one round trip.
            using var command = new NpgsqlCommand("SET LOCAL synchronous_commit = remote_apply", transaction.Inner.Connection, transaction.Inner);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Creates a routed command on this connection.</summary>
    /// <returns>The command.</returns>
    public new RoutedCommand CreateCommand() => new() { Connection = this };

    /// <summary>Creates a routed batch on this connection.</summary>
    /// <returns>The batch.</returns>
    public new RoutedBatch CreateBatch() => new() { Connection = this };

    /// <inheritdoc />
    protected override DbCommand CreateDbCommand() => CreateCommand();

    /// <inheritdoc />
    protected override DbBatch CreateDbBatch() => CreateBatch();

    /// <summary>Begins a read-write transaction on the primary.</summary>
    /// <param name="isolationLevel">The isolation level.</param>
    /// <returns>The transaction.</returns>
    protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) =>
        SyncPath.Result(BeginTransactionCoreAsync(isolationLevel, readOnly: false, null, async: false, CancellationToken.None));

    /// <summary>Begins a read-write transaction on the primary.</summary>
    /// <param name="isolationLevel">The isolation level.</param>
    /// <param name="cancellationToken">Cancels opening the physical connection.</param>
    /// <returns>The transaction.</returns>
    protected override async ValueTask<DbTransaction> BeginDbTransactionAsync(IsolationLevel isolationLevel, CancellationToken cancellationToken) =>
        await BeginTransactionCoreAsync(isolationLevel, readOnly: false, null, async: true, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Close();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        var closing = CloseAsync(async: true);
        if (!closing.IsCompletedSuccessfully)
        {
            return DisposeAfterCloseAsync(closing);
        }

        // Returning idle connections to their pools completes at once: no state machine for the usual dispose.
        return base.DisposeAsync();
    }

    private async ValueTask DisposeAfterCloseAsync(ValueTask closing)
    {
        await closing.ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    internal void OnReaderOpened(CapturingDataReader reader)
    {
        if (_openReader is null || _openReader.IsClosed)
        {
            _openReader = reader;
        }
        else
        {
            _otherOpenReader = reader;
        }
    }

    internal void OnReaderClosed(CapturingDataReader reader)
    {
        if (_openReader == reader)
        {
            _openReader = null;
        }
        else if (_otherOpenReader == reader)
        {
            _otherOpenReader = null;
        }
    }

    internal void OnTransactionCompleted(RoutedTransaction transaction)
    {
        if (_transaction == transaction)
        {
            _transaction = null;
        }
    }

    /// <summary>
    /// Routes and runs one command or batch through the data source's resilience pipeline: the first attempt picks
    /// the host (honouring the consistency session), borrows the physical connection and runs
    /// <paramref name="operation"/> with the session's capture statement; the pipeline's strategies decide whether a
    /// failed attempt runs again and where (see <see cref="RerouteStrategyOptions"/>).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // One per command: pool its state machine.
    internal async ValueTask<TResult> ExecuteAsync<TTarget, TResult>(
        TTarget target,
        StatementClassification classification,
        ReadPreference? commandPreference,
        StaleReadPolicy? commandPolicy,
        CommandBehavior behavior,
        Func<TTarget, ExecutionRequest, ValueTask<TResult>> operation,
        bool async,
        CancellationToken cancellationToken)
        where TTarget : IRoutedExecutable
    {
        if (_state != ConnectionState.Open)
        {
            throw new InvalidOperationException("The connection is not open.");
        }

        _dataSource.ThrowIfDisposed();
        var monitor = _dataSource.Monitor;
        var snapshot = monitor.HasCompletedFirstRound ? monitor.Snapshot : await monitor.WaitForFirstRoundAsync(async, cancellationToken).ConfigureAwait(false);
        if (_transaction is { Role: HostRole.Primary } open && snapshot.WhyNotPrimary(open.Host) is { } why)
        {
            // The primary changed under the open transaction: nothing more goes to the old one, not even a COMMIT.
            await open.AbandonAsync(async).ConfigureAwait(false);
            throw open.RolledBack(why, "this statement");
        }

        var startedAt = RoutingDiagnostics.MeasuresOperations ? _dataSource.TimeProvider.GetTimestamp() : 0;
        var attempt = CommandAttempt.Rent();
        attempt.Begin(this, target, classification, commandPreference, commandPolicy, snapshot, async, cancellationToken);
        try
        {
            Outcome<TResult> outcome;
            if (_dataSource.FastPathReroute is { } reroute && !PrimaryWaitStrategy.MustWait(attempt))
            {
                // The default pipeline acts only before a first attempt that needs a missing primary, and after a failed
                // attempt (it reroutes, or waits for a primary a read could not be routed without): otherwise the attempt
                // runs on its own, without the pipeline's context and layers.
                try
                {
                    outcome = await RunAttemptAsync(target, operation, behavior, attempt).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // Not swallowed: it becomes the outcome, as the pipeline would make it.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    outcome = Outcome.FromException<TResult>(e);
                }

                if (RerouteStrategy.NextCause(outcome.Exception, attempt, reroute) is not null || PrimaryWaitStrategy.WaitsAfter(outcome.Exception, attempt, _dataSource.Options.MaxWaitForPrimary))
                {
                    attempt.FirstOutcome = outcome;
                    outcome = await RunPipelineAsync(target, operation, behavior, attempt, cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                outcome = await RunPipelineAsync(target, operation, behavior, attempt, cancellationToken).ConfigureAwait(false);
            }

            if (outcome.Exception is not null && attempt.Route is { } failedOn)
            {
                // Failed for good: say where it failed rather than leave the previous command's route.
                Record(target, failedOn with { Failed = true }, attempt.Decision.Host.Endpoint, outcome.Exception);
            }

            if (startedAt != 0)
            {
                RoutingDiagnostics.RecordOperation(
                    _dataSource.TimeProvider.GetElapsedTime(startedAt),
                    attempt.Routed ? attempt.Decision.ToRouteInfo() : null,
                    attempt.Routed ? attempt.Decision.Host.Endpoint : null,
                    outcome.Exception);
            }

            outcome.ThrowIfException();
            return outcome.Result!;
        }
        finally
        {
            attempt.Return();
        }
    }

    /// <summary>Runs the command's attempts through the data source's resilience pipeline.</summary>
    private async ValueTask<Outcome<TResult>> RunPipelineAsync<TTarget, TResult>(TTarget target, Func<TTarget, ExecutionRequest, ValueTask<TResult>> operation, CommandBehavior behavior, CommandAttempt attempt, CancellationToken cancellationToken)
        where TTarget : IRoutedExecutable
    {
        var context = ResilienceContextPool.Shared.Get(continueOnCapturedContext: false, cancellationToken);
        context.Properties.Set(CommandAttempt.Key, attempt);
        try
        {
            return await _dataSource.Pipeline.ExecuteOutcomeAsync(
                static (_, state) => state.Attempt.FirstOutcome is Outcome<TResult> first
                    ? ReplayFirst(state.Attempt, first)
                    : state.Connection.RunAttemptAsync(state.Target, state.Operation, state.Behavior, state.Attempt),
                context,
                (Connection: this, Target: target, Operation: operation, Behavior: behavior, Attempt: attempt)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        static ValueTask<Outcome<TResult>> ReplayFirst(CommandAttempt attempt, Outcome<TResult> first)
        {
            // The attempt already ran (and failed) outside the pipeline: the strategies see its outcome, it is not sent again.
            attempt.FirstOutcome = null;
            return new ValueTask<Outcome<TResult>>(first);
        }
    }

    /// <summary>
    /// One attempt: routes the command if no strategy has said where it goes, borrows the connection, runs it. Every
    /// failure comes back as an outcome (the raw error kept on the attempt for the strategies); a write or COMMIT
    /// whose connection to the primary broke after sending comes back as its typed outcome, never to be re-sent.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome<TResult>> RunAttemptAsync<TTarget, TResult>(TTarget target, Func<TTarget, ExecutionRequest, ValueTask<TResult>> operation, CommandBehavior behavior, CommandAttempt attempt)
        where TTarget : IRoutedExecutable
    {
        attempt.Sent = false;
        attempt.Failure = null;
        var async = attempt.Async;
        LinkedCancellation links = default;
        CancellationToken abandoned = default;
        NpgsqlConnection connection;
        HostRuntime host;
        var cancellationToken = attempt.CancellationToken;
        try
        {
            if (!attempt.Routed)
            {
                await RouteAsync(attempt).ConfigureAwait(false);
                attempt.Routed = true;
            }

            host = attempt.Decision.Host;
            attempt.Route = attempt.Decision.ToRouteInfo(); // Where it failed, should it fail before it is sent.
            if (async)
            {
                // The caller's token, or the monitor giving the host up (it stopped answering): a blackholed host never
                // holds a command longer than the monitor takes to notice. ADO.NET's sync API takes no token.
                abandoned = host.AbandonToken;
                if (attempt.CancellationToken.CanBeCanceled)
                {
                    (cancellationToken, links) = LinkAttemptCancellation(attempt.CancellationToken, abandoned);
                }
                else
                {
                    // Nothing to link: Npgsql registers on the host's token itself (no source, one registration fewer).
                    cancellationToken = abandoned;
                }
            }

            connection = await AcquireAsync(host, attempt.Decision.Role, async, cancellationToken, fallbackRead: IsFallbackRead(attempt.Decision)).ConfigureAwait(false);
            if (attempt.Classification.IsTransactionBlock && _transaction is null && !(attempt.Decision.Role == HostRole.Primary && _pinnedToPrimary))
            {
                if (attempt.Decision.Role == HostRole.Primary)
                {
                    _primaryAfterBlock = true;
                }
                else
                {
                    _replicaAfterBlock = true;
                }
            }
        }
        catch (Exception e)
        {
            links.Dispose();
            e = AbandonedOrSelf(e, attempt, abandoned);
            NoteHostFailure(e);
            if (attempt.Routed && (IsConnectFailure(e) || abandoned.IsCancellationRequested))
            {
                // Marked down now, not at the next probe: other commands stop trying it until a probe hears from it.
                attempt.Decision.Host.MarkUnreachable(_dataSource.Monitor.Now);
            }

            attempt.Failure = e;
            return Outcome.FromException<TResult>(e);
        }

        attempt.Sent = true;
        var decision = attempt.Decision;
        var route = attempt.Route!.Value;
        using var activity = RoutingDiagnostics.StartRouteActivity(route, host.Endpoint);

        // Inside a transaction the position is captured with its COMMIT instead.
        var session = attempt.Session;
        var capture = new CaptureTarget(
            _transaction is null ? session : null,
            attempt.Snapshot.SystemIdentifier,
            decision.Host,
            decision.Role,
            decision.Role == HostRole.Replica ? attempt.RequiredReplayLsn : 0,
            attempt.Snapshot.Primary,
            isWrite: !attempt.Classification.IsRead || attempt.RefusedByStandby,
            capturesReads: _dataSource.Options.MonotonicReads,
            _dataSource.Clock,
            _dataSource.Options.LsnCapture == LsnCaptureMode.Background,
            session?.PrimaryPendingSince ?? 0);
        var request = new ExecutionRequest(this, connection, _transaction?.Inner, behavior, capture, async, cancellationToken, target);
        host.BeginCommand();
        try
        {
            var result = await operation(target, request).ConfigureAwait(false);

            // A reader marks the command finished when it closes: its batch is not done before that.
            if (capture.MarksCompletion && result is not DbDataReader)
            {
                capture.Complete();
            }

            if (result is DbDataReader)
            {
                // Npgsql keeps its cancellation registration until the reader closes: this source is the reader's now.
                _attemptCancellation = null;
            }

            Record(target, route, host.Endpoint);
            return Outcome.FromResult(result);
        }
        catch (Exception e)
        {
            e = AbandonedOrSelf(e, attempt, abandoned);
            RoutingDiagnostics.FailRouteActivity(activity, e);
            NoteHostFailure(e);
            attempt.Failure = e;
            if (capture.IsActive && capture.Role == HostRole.Primary)
            {
                // The statement may have committed before the error (a later statement of a batch failed, the
                // connection broke, the capture was cancelled): until a capture on the primary that started after
                // now resolves it, this session reads from the primary.
                capture.Failed();
            }

            if (decision.Role == HostRole.Primary && IsHostFailure(e) && (_transaction is not null || !attempt.Classification.IsRead || attempt.RefusedByStandby))
            {
                return Outcome.FromException<TResult>(await LostOnPrimaryAsync(decision, e, async).ConfigureAwait(false));
            }

            return Outcome.FromException<TResult>(e);
        }
        finally
        {
            host.EndCommand();
            links.Dispose();
        }
    }

    /// <summary>
    /// A token cancelled by the caller's or by the host's abandonment. One source per connection, reused while it was
    /// not cancelled and no reader kept it, and handed on to the next connection opened on the thread when this one
    /// closes, so the registrations on it (ours, Npgsql's) reuse their nodes.
    /// </summary>
    private (CancellationToken Token, LinkedCancellation Links) LinkAttemptCancellation(CancellationToken caller, CancellationToken abandoned)
    {
        // Not TryReset: it drops the source's free registration nodes, and Npgsql registers on the token every command.
        var source = _attemptCancellation;
        if (source is null)
        {
            (source, t_spareCancellation) = (t_spareCancellation, null);
            _attemptCancellation = source;
        }

        if (source is null || source.IsCancellationRequested)
        {
            source = _attemptCancellation = new CancellationTokenSource();
        }

        _linkedAttempts++;
        return (source.Token, new LinkedCancellation(
            caller.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), source),
            abandoned.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), source),
            this));
    }

    private readonly struct LinkedCancellation(CancellationTokenRegistration fromCaller, CancellationTokenRegistration fromHost, RoutedConnection? owner) : IDisposable
    {
        public void Dispose()
        {
            fromCaller.Dispose();
            fromHost.Dispose();
            if (owner is not null)
            {
                owner._linkedAttempts--;
            }
        }
    }

    /// <summary>A cancellation the caller did not ask for: the monitor gave the host up. That is a host failure.</summary>
    private static Exception AbandonedOrSelf(Exception e, CommandAttempt attempt, CancellationToken abandoned) =>
        abandoned.IsCancellationRequested && !attempt.CancellationToken.IsCancellationRequested && e is OperationCanceledException or NpgsqlException
            ? new NpgsqlException($"{attempt.Decision.Host.Endpoint.Name} stopped answering and the topology monitor gave it up, so the command was abandoned there.", e)
            : e;

    /// <summary>The host did not take the connection (refused, reset, no answer, shutting down); not a full client-side pool.</summary>
    private static bool IsConnectFailure(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case PostgresException p:
                    return p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState is "57P01" or "57P02" or "57P03";
                case System.Net.Sockets.SocketException or IOException:
                    return true;
                case NpgsqlException when inner.Message.Contains("pool", StringComparison.OrdinalIgnoreCase):
                    return false;
                case TimeoutException:
                    return true;
            }
        }

        return false;
    }

    /// <summary>The connection to the primary broke after the command was sent: its typed outcome. It is never sent again.</summary>
    private async ValueTask<Exception> LostOnPrimaryAsync(RoutingDecision decision, Exception error, bool async)
    {
        if (_transaction is { } lost)
        {
            // The server rolls an open transaction back when its connection goes: nothing of it was committed.
            await lost.AbandonAsync(async).ConfigureAwait(false);
            return new TransactionRolledBackException(
                $"The connection to {decision.Host.Endpoint.Name} was lost during the transaction, so the server rolled it back; nothing of it was committed. Run it again. ({error.Message})",
                error);
        }

        return new CommandOutcomeUnknownException(
            $"The connection to the primary {decision.Host.Endpoint.Name} was lost after the write was sent: it may or may not have been committed, and it was not sent again. Check before retrying. ({error.Message})",
            error);
    }

    /// <summary>The first routing of a command: the session's position, the host, and the same-round-trip freshness check.</summary>
    private async ValueTask RouteAsync(CommandAttempt attempt)
    {
        var options = _dataSource.Options;
        var monitor = _dataSource.Monitor;
        var snapshot = attempt.Snapshot;
        var classification = attempt.Classification;
        var async = attempt.Async;
        var cancellationToken = attempt.CancellationToken;
        var session = options.ReadYourWrites ? EffectiveSession : null;
        attempt.Session = session;
        if (session is not null && _transaction is null && !session.IsOnTimeline(snapshot.NewestPrimaryTimeline))
        {
            // A failover since the session's last command: its writes may be lost, or its timeline not seen here yet.
            snapshot = attempt.Snapshot = await _dataSource.Timelines.ReconcileAsync(session, snapshot, classification.IsRead && !_pinnedToPrimary, async, cancellationToken).ConfigureAwait(false);
        }

        var position = default(SessionPosition);
        if (session is not null && classification.IsRead && _transaction is null && !_pinnedToPrimary && !classification.PinsSession)
        {
            // Only a read outside a transaction may go to a replica: only then does the session's position matter.
            position = _dataSource.ResolveSession(session, snapshot);
            if (position.PendingSince != 0 && PendingPositionHandling(classification, attempt.CommandPreference, attempt.CommandPolicy, session) is var handling && handling != PendingHandling.UsePrimary)
            {
                // A background capture lands within the capture interval (plus a round trip) of the write.
                var waitStartedAt = _dataSource.TimeProvider.GetTimestamp();
                var captured = await _dataSource.Clock.WaitAsync(position.PendingSince, options.MaxReadYourWritesWait, async, cancellationToken).ConfigureAwait(false);
                RoutingDiagnostics.RecordSessionWait("capture", captured, _dataSource.TimeProvider.GetElapsedTime(waitStartedAt));
                snapshot = attempt.Snapshot = monitor.Snapshot;
                position = _dataSource.ResolveSession(session, snapshot);
                if (position.PendingSince != 0 && handling == PendingHandling.WaitOrThrow)
                {
                    throw new ReplicaNotCaughtUpException(
                        $"The WAL position of the session's last command on the primary was not captured within {options.MaxReadYourWritesWait}, so no replica can be shown to have it. Hosts: {snapshot.Describe()}");
                }
            }
        }

        attempt.Position = position;
        var minLsn = position.MinLsn;
        attempt.PositionResolved = true;
        var decision = Decide(snapshot, classification, attempt.CommandPreference, position, out var notCaughtUp);
        if (notCaughtUp)
        {
            // No replica is *known* to have caught up (positions are as fresh as the last probe or read). Ask the
            // best candidate in the same round trip: [check; read]. If it is behind after all, its
            // results are discarded and the reroute strategy applies the stale-read policy.
            var candidate = position.OnlyReplica is { } only
                ? Router.PreferredReplica(snapshot, only)
                : Router.PreferredReplica(snapshot, _replicaHost) ?? Router.MostAdvancedReplica(snapshot, null);
            if (candidate is not null && !candidate.Host.RecentlyStaleFor(minLsn) && !candidate.Host.IsUnreachable)
            {
                var hinted = classification.Hint is not null;
                decision = new RoutingDecision(candidate.Host, HostRole.Replica, hinted ? RoutingReason.Hint : RoutingReason.ClassifiedRead, classification.Reason);
                attempt.RequiredReplayLsn = minLsn;
            }
            else
            {
                decision = await ResolveNotCaughtUpAsync(snapshot, attempt, decision).ConfigureAwait(false);
            }
        }

        attempt.Decision = decision;
    }

    /// <summary>
    /// Gets or sets the consistency session this connection's commands use. By default: the ambient
    /// <see cref="ConsistencyScope"/>'s session, else one of this connection's own (read-your-writes within the connection).
    /// </summary>
    [AllowNull]
    public ConsistencySession ConsistencySession
    {
        get => EffectiveSession;
        set => _explicitSession = value;
    }

    internal ConsistencySession EffectiveSession => _explicitSession ?? ConsistencyScope.Current?.Session ?? (_ownSession ??= new ConsistencySession());

    /// <summary>Forgets the connection's own session (a pooled EF Core context's connection, before its next lease).</summary>
    internal void ResetOwnSession() => _ownSession = null;

    /// <summary>Where a transaction's COMMIT/ROLLBACK capture goes; inactive when sessions are off.</summary>
    internal CaptureTarget TransactionCapture(RoutedTransaction transaction) =>
        new(
            _dataSource.Options.ReadYourWrites ? EffectiveSession : null,
            _dataSource.Monitor.Snapshot.SystemIdentifier,
            transaction.Host,
            transaction.Role,
            0,
            _dataSource.Monitor.Snapshot.Primary,
            isWrite: transaction.Role == HostRole.Primary,
            capturesReads: _dataSource.Options.MonotonicReads,
            _dataSource.Clock,
            _dataSource.Options.LsnCapture == LsnCaptureMode.Background,
            _dataSource.Options.ReadYourWrites ? EffectiveSession.PrimaryPendingSince : 0);

    private SessionPosition ReadYourWritesPosition(ClusterSnapshot snapshot)
    {
        if (!_dataSource.Options.ReadYourWrites)
        {
            return default;
        }

        // While a position is pending, MinLsn is ulong.MaxValue: the transaction goes to the primary.
        return _dataSource.ResolveSession(EffectiveSession, snapshot);
    }

    /// <summary>What a read does while the session's last position on the primary is pending a background capture.</summary>
    private PendingHandling PendingPositionHandling(StatementClassification classification, ReadPreference? commandPreference, StaleReadPolicy? commandPolicy, ConsistencySession session)
    {
        var preference = RoutingRules.EffectivePreference(classification, commandPreference, this);
        if (preference is RoutingData.ReadPreference.Primary or RoutingData.ReadPreference.PrimaryPreferred)
        {
            return PendingHandling.UsePrimary;
        }

        var policy = EffectivePolicy(commandPolicy, session);
        return preference == RoutingData.ReadPreference.Replica || policy == StaleReadPolicy.Throw ? PendingHandling.WaitOrThrow
            : policy == StaleReadPolicy.Wait ? PendingHandling.WaitThenPrimary
            : PendingHandling.UsePrimary;
    }

    private StaleReadPolicy EffectivePolicy(StaleReadPolicy? commandPolicy, ConsistencySession session) =>
        commandPolicy ?? ConsistencyScope.Current?.StaleReadPolicy ?? session.StaleReadPolicy ?? _dataSource.Options.StaleReadPolicy;


    /// <summary>The host is down or going down: class 08, 57P01–57P03, socket and I/O errors, timeouts to connect.</summary>
    internal static bool IsHostFailure(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState is "57P01" or "57P02" or "57P03",
        NpgsqlException => true,
        IOException or System.Net.Sockets.SocketException or TimeoutException => true,
        _ => false,
    };

    private bool NoteHostFailure(Exception e)
    {
        if (IsHostFailure(e))
        {
            _dataSource.Monitor.ReportDoubt();
        }

        return false;
    }

    /// <summary>Session state was found after the fact (a standby refused a "read" that writes): stay on the primary.</summary>
    internal void PinToPrimary() => _pinnedToPrimary = true;

    private RoutingDecision Decide(ClusterSnapshot snapshot, StatementClassification classification, ReadPreference? commandPreference, in SessionPosition position, out bool notCaughtUp)
    {
        notCaughtUp = false;
        if (_transaction is { } transaction)
        {
            // Session state made inside a transaction outlives it on the transaction's session: stay there.
            if (classification.PinsSession)
            {
                if (transaction.Role != HostRole.Primary && classification.Kind == StatementKind.SessionState)
                {
                    // It would outlive the transaction on a replica's session, where later commands (and the primary)
                    // cannot see it: a setting, a prepared statement, an advisory lock only that standby knows. Nothing was sent.
                    throw new InvalidOperationException(
                        $"{classification.Reason} may leave session state (a setting, a prepared statement, a temp table, an advisory lock), which must not be made in a read-only transaction on replica {transaction.HostName}: later commands run elsewhere and would not see it. Run it outside the transaction, begin the transaction on the primary (ReadPreference.Primary), or, for a function that only reads, declare it STABLE or list it in ReadOnlyFunctions.");
                }

                _pinnedToPrimary |= transaction.Role == HostRole.Primary;
            }

            return new RoutingDecision(transaction.Host, transaction.Role, RoutingReason.Transaction, classification.Reason);
        }

        if (_pinnedToPrimary)
        {
            return Router.RouteWrite(snapshot, RoutingReason.SessionPinned, classification.Reason);
        }

        if (classification.PinsSession)
        {
            var pinned = Router.RouteWrite(snapshot, RoutingReason.SessionState, classification.Reason);
            _pinnedToPrimary = true;
            _dataSource.Logger.SessionPinned(classification.Reason);
            return pinned;
        }

        if (!classification.IsRead)
        {
            return Router.RouteWrite(snapshot, RoutingReason.ClassifiedWrite, classification.Reason);
        }

        var preference = RoutingRules.EffectivePreference(classification, commandPreference, this);
        if (position.MinLsn == ulong.MaxValue && preference != RoutingData.ReadPreference.Primary)
        {
            if (preference == RoutingData.ReadPreference.Replica)
            {
                // A replica-only read never falls back to the primary, and no replica can be shown to have this position. Nothing was sent.
                throw new ReplicaNotCaughtUpException(position.PrimaryReaderOpen
                    ? $"A read with read preference Replica cannot be shown to see the session's command on the primary whose results are still being read: its WAL position is known only once its reader closes. Close that reader first, or read with another preference. ({classification.Reason})"
                    : $"A read with read preference Replica cannot be served: no replica can be shown to have the session's position {EffectiveSession.Token} (its timeline's fork point from the newest primary's is not known here). A read with another preference, or a write, moves the session onto the new timeline. ({classification.Reason})");
            }

            // The position of the session's last command on the primary is not captured yet: only the primary has it for sure.
            return Router.RouteWrite(snapshot, RoutingReason.PositionPending, classification.Reason);
        }

        return _dataSource.Router.RouteRead(snapshot, new ReadRequest(preference, classification.Reason, classification.Hint is not null, position.MinLsn, position.OnlyReplica, _replicaHost), out notCaughtUp);
    }

    /// <summary>
    /// No replica has replayed the session's position: wait (bounded) for one, fall back to the primary, or throw, per
    /// policy. <see cref="StaleReadPolicy.Wait"/> waits for a replica taken in turn among those that can catch up in
    /// time. Otherwise, when a replica already has the session's own writes and only what its reads saw on the primary is
    /// newer, the read waits up to <see cref="ReplicatedDbOptions.MaxRejoinWait"/> to rejoin that replica, once (a session
    /// whose rejoin failed backs off); a read whose own writes are on no replica yet never waits.
    /// </summary>
    internal async ValueTask<RoutingDecision> ResolveNotCaughtUpAsync(ClusterSnapshot snapshot, CommandAttempt attempt, RoutingDecision fallback)
    {
        var (classification, commandPreference, commandPolicy, session, onlyReplica, async, cancellationToken) =
            (attempt.Classification, attempt.CommandPreference, attempt.CommandPolicy, attempt.Session!, attempt.Position.OnlyReplica, attempt.Async, attempt.CancellationToken);
        var options = _dataSource.Options;
        var policy = EffectivePolicy(commandPolicy, session);
        var strictReplica = RoutingRules.EffectivePreference(classification, commandPreference, this) == RoutingData.ReadPreference.Replica;
        var lsn = session.Lsn;
        HostState? candidate;
        TimeSpan bound;
        RoutingReason reason;
        if (policy == StaleReadPolicy.Wait)
        {
            (bound, reason) = (options.MaxReadYourWritesWait, RoutingReason.WaitedForReplica);
            candidate = onlyReplica is not null
                ? Router.PreferredReplica(snapshot, onlyReplica)
                : _dataSource.Router.ReplicaToWaitFor(snapshot, bound, 0) ?? Router.MostAdvancedReplica(snapshot, null);
        }
        else
        {
            // Rejoin: only what the session happened to read blocks it, and a replica that has its writes is close behind.
            (bound, reason) = (options.MaxRejoinWait, RoutingReason.Rejoined);
            var mustSee = session.MustSeeLsn;
            var now = _dataSource.Monitor.Now;
            candidate = bound > TimeSpan.Zero && mustSee < lsn && now >= session.RejoinNotBefore
                ? onlyReplica is not null
                    ? Router.PreferredReplica(snapshot, onlyReplica) is { } only && only.Host.KnownLsn >= mustSee && snapshot.Lags[only.Host.Index] is { } lag && lag <= bound && now >= only.Host.RejoinNotBefore ? only : null
                    : _dataSource.Router.ReplicaToWaitFor(snapshot, bound, mustSee, Math.Max(now, 1))
                : null;
        }

        if (candidate is not null && !candidate.Host.IsUnreachable)
        {
            bool caughtUp;
            var waitStartedAt = _dataSource.TimeProvider.GetTimestamp();
            try
            {
                caughtUp = await WaitForReplayAsync(candidate.Host, lsn, bound, async, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsHostFailure(e))
            {
                // The replica went away while we waited for it: nothing was read there; the policy's fallback applies.
                _dataSource.Monitor.ReportDoubt();
                caughtUp = false;
            }

            RoutingDiagnostics.RecordSessionWait(reason == RoutingReason.Rejoined ? "rejoin" : "replica", caughtUp, _dataSource.TimeProvider.GetElapsedTime(waitStartedAt));

            if (reason == RoutingReason.Rejoined)
            {
                var (now, frequency) = (_dataSource.Monitor.Now, _dataSource.TimeProvider.TimestampFrequency);
                session.RecordRejoin(caughtUp, now, frequency);
                candidate.Host.RecordRejoin(caughtUp, now, frequency);
            }

            if (caughtUp)
            {
                return new RoutingDecision(candidate.Host, HostRole.Replica, reason, classification.Reason);
            }
        }

        if (policy == StaleReadPolicy.Throw || strictReplica)
        {
            throw new ReplicaNotCaughtUpException(
                $"No replica has replayed the session's position {session.Token} (policy {policy}). Replicas: {DescribePositions(snapshot)}");
        }

        return fallback;
    }

    /// <summary>Polls the replica's replay position until it reaches <paramref name="lsn"/> or <paramref name="bound"/> passes.</summary>
    private async ValueTask<bool> WaitForReplayAsync(HostRuntime host, ulong lsn, TimeSpan bound, bool async, CancellationToken cancellationToken)
    {
        var deadline = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(bound.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        var connection = await AcquireAsync(host, HostRole.Replica, async, cancellationToken).ConfigureAwait(false);
        _dataSource.OnReplicaWait();
        using var poll = new NpgsqlCommand("SELECT pg_catalog.pg_last_wal_replay_lsn()", connection);
        while (true)
        {
            var startedAt = _dataSource.Clock.Now();
            var value = async ? await poll.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) : poll.ExecuteScalar();
            if (value is NpgsqlTypes.NpgsqlLogSequenceNumber replayed)
            {
                host.AdvanceKnownLsn((ulong)replayed, startedAt);
                if ((ulong)replayed >= lsn)
                {
                    return true;
                }
            }

            if (System.Diagnostics.Stopwatch.GetTimestamp() > deadline)
            {
                return false;
            }

            // PostgreSQL 15 has no WAIT FOR LSN: bounded polling it is.
            if (async)
            {
                await Task.Delay(5, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                Thread.Sleep(5);
            }
        }
    }

    private static string DescribePositions(ClusterSnapshot snapshot)
    {
        var text = new System.Text.StringBuilder();
        foreach (var replica in snapshot.EligibleReplicas)
        {
            text.Append(text.Length == 0 ? string.Empty : ", ").Append(replica.Host.Endpoint.Name).Append(" at ").Append(new NpgsqlTypes.NpgsqlLogSequenceNumber(replica.Host.KnownLsn).ToString());
        }

        return text.Length == 0 ? "(none eligible)" : text.ToString();
    }

    private void Record<TTarget>(TTarget target, in RouteInfo route, HostEndpoint endpoint, Exception? error = null)
        where TTarget : IRoutedExecutable
    {
        LastRoute = route;
        target.OnRouted(route);
        RoutingDiagnostics.RecordCommand(route, endpoint, error);
        if (_dataSource.Logger.IsEnabled(LogLevel.Debug))
        {
            _dataSource.Logger.CommandRouted(route.Role, route.Host, route.Reason, route.Detail);
        }
    }

    /// <summary>A read on the primary only because no replica could take it: it may not crowd writes out of the primary's pool.</summary>
    private bool IsFallbackRead(in RoutingDecision decision) =>
        decision.Role == HostRole.Primary && decision.Reason is RoutingReason.LagBound or RoutingReason.NoHealthyReplica && _transaction is null;

    private async ValueTask<NpgsqlConnection> AcquireAsync(HostRuntime host, HostRole role, bool async, CancellationToken cancellationToken, bool fallbackRead = false)
    {
        if ((role == HostRole.Primary ? _primaryAfterBlock : _replicaAfterBlock) && _transaction is null && !HasOpenReader)
        {
            await DropAfterBlockAsync(role, async).ConfigureAwait(false);
        }

        var existing = role == HostRole.Primary ? _primaryConnection : _replicaConnection;
        var existingHost = role == HostRole.Primary ? _primaryHost : _replicaHost;
        if (existing is not null)
        {
            if (existingHost == host && existing.State == ConnectionState.Open)
            {
                return existing;
            }

            if (_transaction is not null)
            {
                throw new InvalidOperationException(
                    $"The physical connection of the transaction on {_transaction.HostName} is no longer open; the transaction is lost. Dispose it and start a new one.");
            }

            if (role == HostRole.Primary && _pinnedToPrimary)
            {
                // Reconnecting would silently drop the SET/PREPARE/temp tables the session relies on.
                throw new NoSuitableHostException(existingHost != host
                    ? $"This connection is pinned to {existingHost!.Endpoint.Name} by session state, but the primary is now {host.Endpoint.Name}; the session state is gone. Close the connection and open a new one."
                    : $"This connection is pinned to {host.Endpoint.Name} by session state, but its session was broken; the session state is gone. Close the connection and open a new one.");
            }

            // Forget it before it goes back to its pool: should the open below fail, closing must not release it again.
            if (role == HostRole.Primary)
            {
                ReturnFallbackLease();
                (_primaryConnection, _primaryHost) = (null, null);
            }
            else
            {
                (_replicaConnection, _replicaHost) = (null, null);
            }

            await ReleaseAsync(existing, async).ConfigureAwait(false);
        }

        if (fallbackRead)
        {
            // Shed rather than queue: a read that waits for the primary's pool holds up the writes queued behind it.
            if (!host.TryLeaseForFallback(_dataSource.FallbackReadLimit))
            {
                throw new ReadsShedException(
                    $"No replica can take the read and reads falling back to the primary {host.Endpoint.Name} already hold {_dataSource.FallbackReadLimit} of its connections (MaxFallbackReadConnections), which are kept for writes. Nothing was sent. Hosts: {_dataSource.Monitor.Snapshot.Describe()}");
            }

            _fallbackLeaseHost = host;
        }

        var pool = role == HostRole.Primary ? host.DataSource : host.ReadOnlyDataSource;
        NpgsqlConnection connection;
        try
        {
            connection = async
                ? await pool.OpenConnectionAsync(cancellationToken).ConfigureAwait(false)
                : pool.OpenConnection();
        }
        catch when (fallbackRead)
        {
            ReturnFallbackLease();
            throw;
        }

        _dataSource.OnPhysicalLeased();
        if (role == HostRole.Primary)
        {
            (_primaryConnection, _primaryHost) = (connection, host);
        }
        else
        {
            (_replicaConnection, _replicaHost) = (connection, host);
        }

        return connection;
    }

    private bool HasOpenReader => _openReader is { IsClosed: false } || _otherOpenReader is { IsClosed: false };

    /// <summary>Returns the role's physical connection to its pool after a read-only transaction block ran on it.</summary>
    private async ValueTask DropAfterBlockAsync(HostRole role, bool async)
    {
        NpgsqlConnection? connection;
        if (role == HostRole.Primary)
        {
            (connection, _primaryConnection, _primaryHost, _primaryAfterBlock) = (_primaryConnection, null, null, false);
            ReturnFallbackLease();
        }
        else
        {
            (connection, _replicaConnection, _replicaHost, _replicaAfterBlock) = (_replicaConnection, null, null, false);
        }

        if (connection is not null)
        {
            await ReleaseAsync(connection, async).ConfigureAwait(false);
        }
    }

    private async ValueTask<RoutedTransaction> BeginTransactionCoreAsync(IsolationLevel isolationLevel, bool readOnly, ReadPreference? readPreference, bool async, CancellationToken cancellationToken)
    {
        if (_state != ConnectionState.Open)
        {
            throw new InvalidOperationException("The connection is not open.");
        }

        if (_transaction is not null)
        {
            throw new InvalidOperationException("A transaction is already in progress on this connection; nested transactions are not supported.");
        }

        var monitor = _dataSource.Monitor;
        var snapshot = monitor.HasCompletedFirstRound ? monitor.Snapshot : await monitor.WaitForFirstRoundAsync(async, cancellationToken).ConfigureAwait(false);
        if (snapshot.Primary is null && (!readOnly || _pinnedToPrimary) && _dataSource.Options.MaxWaitForPrimary > TimeSpan.Zero)
        {
            // A failover in progress: wait (bounded) for the promoted primary before beginning.
            snapshot = await monitor.WaitForPrimaryAsync(_dataSource.Options.MaxWaitForPrimary, 0, async, cancellationToken).ConfigureAwait(false);
        }

        RoutingDecision decision = default;
        NpgsqlConnection? connection = null;
        var (maxWait, timeProvider) = (_dataSource.Options.MaxWaitForPrimary, _dataSource.TimeProvider);
        var (gapWait, freshAfter, waited) = (default(WaitDeadline), 0L, TimeSpan.Zero);
        var refusalPause = new RefusalPause(_dataSource.Options.FailoverProbeInterval, _dataSource.Options.TopologyProbeInterval);
        try
        {
            while (connection is null)
            {
                if (_dataSource.Options.ReadYourWrites && !EffectiveSession.IsOnTimeline(snapshot.NewestPrimaryTimeline))
                {
                    snapshot = await _dataSource.Timelines.ReconcileAsync(EffectiveSession, snapshot, readOnly && !_pinnedToPrimary, async, cancellationToken).ConfigureAwait(false);
                }

                var waitsInGap = readOnly && !_pinnedToPrimary && maxWait > TimeSpan.Zero && !gapWait.Exhausted(timeProvider);
                try
                {
                    decision = readOnly && !_pinnedToPrimary
                        ? RouteReadOnlyTransaction(snapshot, readPreference)
                        : Router.RouteWrite(snapshot, RoutingReason.Transaction, readOnly ? "read-only transaction" : "transaction");
                    if (decision.Host is null)
                    {
                        throw new ReplicaNotCaughtUpException($"No replica has replayed the session's position {EffectiveSession.Token} for a read-only transaction with read preference Replica.");
                    }

                    connection = await AcquireAsync(decision.Host, decision.Role, async, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (waitsInGap && (e is NoSuitableHostException { NoPrimary: true } || (gapWait.Started && decision.Role == HostRole.Replica && IsHostFailure(e))))
                {
                    // Only the primary can serve the read-only transaction (the session's last write has reached no replica
                    // yet, or none is eligible and FallbackToPrimary is on) and a failover is in progress — or the replica
                    // that ended such a wait refused the connection: as a read does, wait for the promoted primary or for a
                    // replica that has the session's position, then route it again. Nothing was begun anywhere.
                    if (e is not NoSuitableHostException)
                    {
                        monitor.ReportDoubt();
                        if (IsConnectFailure(e))
                        {
                            decision.Host.MarkUnreachable(monitor.Now); // Not for a full pool: the host itself answers.
                        }

                        freshAfter = Math.Max(freshAfter, refusalPause.NextRoundAfter(timeProvider));
                    }

                    var replicaMinLsn = (readPreference ?? ReadPreference ?? _dataSource.Options.DefaultReadPreference) == RoutingData.ReadPreference.Primary
                        ? ulong.MaxValue
                        : ReadYourWritesPosition(snapshot).MinLsn;
                    var startedAt = timeProvider.GetTimestamp();
                    snapshot = await monitor.WaitForPrimaryAsync(gapWait.Left(maxWait, timeProvider), freshAfter, replicaMinLsn, async, cancellationToken).ConfigureAwait(false);
                    waited += timeProvider.GetElapsedTime(startedAt);

                    // Should routing find neither again, the next wait is for a later probe round.
                    freshAfter = monitor.PublishedRoundStartedAt;
                    decision = default;
                }
            }
        }
        finally
        {
            if (gapWait.Started)
            {
                // One sample per transaction that waited: whether the wait found it a host.
                RoutingDiagnostics.RecordPrimaryWait(connection is not null, waited);
            }
        }

        var inner = async
            ? await connection.BeginTransactionAsync(isolationLevel, cancellationToken).ConfigureAwait(false)
            : connection.BeginTransaction(isolationLevel);
        if (readOnly && decision.Role == HostRole.Primary)
        {
            // A standby is read-only by nature; on the primary, make the promise explicit.
            try
            {
                using var command = new NpgsqlCommand("SET TRANSACTION READ ONLY", connection, inner);
                _ = async ? await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) : command.ExecuteNonQuery();
            }
            catch
            {
                inner.Dispose();
                throw;
            }
        }

        _transaction = new RoutedTransaction(this, inner, decision.Host, decision.Role, isolationLevel);
        // A read-only transaction keeps the reason its host was chosen for (NotCaughtUp, PositionPending, …).
        LastRoute = readOnly && decision.Reason != RoutingReason.ClassifiedRead ? decision.ToRouteInfo() : decision.ToRouteInfo() with { Reason = RoutingReason.Transaction };
        return _transaction;
    }

    private RoutingDecision RouteReadOnlyTransaction(ClusterSnapshot snapshot, ReadPreference? readPreference)
    {
        var preference = readPreference ?? ReadPreference ?? _dataSource.Options.DefaultReadPreference;
        var position = ReadYourWritesPosition(snapshot);
        if (position.MinLsn == ulong.MaxValue)
        {
            return preference == RoutingData.ReadPreference.Replica
                ? default
                : Router.RouteWrite(snapshot, RoutingReason.PositionPending, "read-only transaction");
        }

        return _dataSource.Router.RouteRead(snapshot, new ReadRequest(preference, "read-only transaction", MinLsn: position.MinLsn, Only: position.OnlyReplica, Sticky: _replicaHost), out _);
    }

    private async ValueTask CloseAsync(bool async)
    {
        if (_state == ConnectionState.Closed)
        {
            return;
        }

        _transaction = null;
        _pinnedToPrimary = false;
        (_primaryAfterBlock, _replicaAfterBlock) = (false, false);
        _state = ConnectionState.Closed;
        await CloseReaderAsync(_openReader, async).ConfigureAwait(false);
        await CloseReaderAsync(_otherOpenReader, async).ConfigureAwait(false);
        (_openReader, _otherOpenReader) = (null, null);
        if (_attemptCancellation is { IsCancellationRequested: false } spare && _linkedAttempts == 0)
        {
            // No command runs (not even one misused from another thread) and no reader kept it: nothing is registered on it.
            t_spareCancellation = spare;
        }

        _attemptCancellation = null;
        var primary = _primaryConnection;
        var replica = _replicaConnection;
        (_primaryConnection, _primaryHost, _replicaConnection, _replicaHost) = (null, null, null, null);
        ReturnFallbackLease();
        if (primary is not null)
        {
            await ReleaseAsync(primary, async).ConfigureAwait(false);
        }

        if (replica is not null)
        {
            await ReleaseAsync(replica, async).ConfigureAwait(false);
        }
    }

    private static async ValueTask CloseReaderAsync(CapturingDataReader? reader, bool async)
    {
        if (reader is null)
        {
            return;
        }

        try
        {
            if (async)
            {
                await reader.CloseAsync().ConfigureAwait(false);
            }
            else
            {
                reader.Close();
            }
        }
#pragma warning disable CA1031 // A broken reader has marked its session in its finally; closing the connection goes on.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private void ReturnFallbackLease()
    {
        if (_fallbackLeaseHost is { } host)
        {
            _fallbackLeaseHost = null;
            host.ReturnFallbackLease();
        }
    }

    private async ValueTask ReleaseAsync(NpgsqlConnection connection, bool async)
    {
        _dataSource.OnPhysicalReturned();
        // Disposing returns it to its pool (Npgsql resets session state there).
        if (async)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            connection.Dispose();
        }
    }

    private void ThrowIfOpen()
    {
        if (_state == ConnectionState.Open)
        {
            throw new InvalidOperationException("The connection is already open.");
        }
    }

    private enum PendingHandling
    {
        /// <summary>Read from the primary at once (it has every write).</summary>
        UsePrimary,

        /// <summary>Wait for the capture; if it does not land in time, read from the primary.</summary>
        WaitThenPrimary,

        /// <summary>Wait for the capture; if it does not land in time, throw (Throw policy, Replica-only reads).</summary>
        WaitOrThrow,
    }
}
