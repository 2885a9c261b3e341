using System.Data.Common;
using Microsoft.Extensions.Logging;
using Npgsql;
using RoutingData.Routing;
using RoutingData.Topology;
using RoutingData.Sql;

namespace RoutingData;

/// <summary>
/// A <see cref="DbDataSource"/> over a PostgreSQL replication cluster that routes every command: provably
/// read-only statements to a healthy replica within the lag bound, everything else — writes, transactions,
/// session state — to the primary. One per cluster (a singleton); it owns one Npgsql data source (pool) per
/// host and a background monitor of the cluster's topology.
/// </summary>
/// <example>
/// <code>
/// await using var dataSource = new ReplicatedDataSourceBuilder("Host=a:5432,b:5432,c:5432;Username=app;Database=app").Build();
/// await using var connection = await dataSource.OpenConnectionAsync();
/// var count = await connection.ExecuteScalarAsync&lt;long&gt;("SELECT count(*) FROM orders");   // a replica (Dapper)
/// </code>
/// </example>
public sealed class ReplicatedDataSource : DbDataSource
{
    private readonly HostRuntime[] _hosts;
    private readonly string _redactedConnectionString;
    private readonly Consistency.TokenCodec _tokenCodec;
    private volatile StatementClassifier _classifier;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _unknownFunctionsLookedUp = new(StringComparer.Ordinal);
    private int _disposed;
    private int _leasedConnections;
    private long _replicaWaits;

    internal ReplicatedDataSource(ReplicatedDbOptions options, NpgsqlConnectionStringBuilder template, HostRuntime[] hosts, ILoggerFactory loggerFactory, TimeProvider timeProvider, Polly.ResiliencePipeline pipeline, IReadOnlyList<Topology.Sources.TopologySourceRegistration>? topologySources = null, RerouteStrategyOptions? fastPathReroute = null)
    {
        Options = options;
        Pipeline = pipeline;
        FastPathReroute = fastPathReroute;
        TimeProvider = timeProvider;
        _hosts = hosts;
        _redactedConnectionString = Internal.ConnectionStrings.Redact(template);
        DatabaseName = template.Database ?? template.Username ?? string.Empty;
        HostList = string.Join(',', hosts.Select(h => h.Endpoint.Name));
        Logger = loggerFactory.CreateLogger<ReplicatedDataSource>();
        FallbackReadLimit = options.MaxFallbackReadConnections ?? Math.Max(1, template.MaxPoolSize / 2);
        Router = new Router(options);
        _tokenCodec = new Consistency.TokenCodec(options.TokenSigningKey is { } key ? System.Text.Encoding.UTF8.GetBytes(key) : null);
        _classifier = new StatementClassifier(FunctionCatalog.CreateDefault(options.ReadOnlyFunctions, options.WritingFunctions), onUnknownFunction: RequestCatalogRefresh);
        Monitor = new ClusterMonitor(hosts, options, timeProvider, loggerFactory.CreateLogger<ClusterMonitor>(), catalog => _classifier = NextClassifier(catalog, _classifier.BackslashEscapes), topologySources);
        Monitor.StandardConformingStringsChanged = on => _classifier = NextClassifier(_classifier.Catalog, backslashEscapes: !on);
        Clock = new Consistency.PrimaryPositionClock(() => Monitor.Snapshot, options.LsnCaptureInterval, options.TopologyProbeTimeout, timeProvider, Logger);
        Timelines = new Consistency.TimelineReconciler(Monitor, Clock, options, timeProvider, Logger);
        Monitor.Start();
    }

    /// <summary>Gets the cluster's connection string without its password.</summary>
    public override string ConnectionString => _redactedConnectionString;

    /// <summary>Gets where reads go unless a command, connection or SQL hint says otherwise.</summary>
    public ReadPreference DefaultReadPreference => Options.DefaultReadPreference;

    internal ReplicatedDbOptions Options { get; }

    /// <summary>The clock of the monitor and the position captures (timestamps of sessions' marks and backoffs).</summary>
    internal TimeProvider TimeProvider { get; }

    internal ClusterMonitor Monitor { get; }

    /// <summary>The shared background capture of the primary's position (<see cref="LsnCaptureMode.Background"/>; also resolves failed commands in either mode).</summary>
    internal Consistency.PrimaryPositionClock Clock { get; }

    internal Router Router { get; }

    /// <summary>How many primary connections reads that fall back from the replicas may hold (<see cref="ReplicatedDbOptions.MaxFallbackReadConnections"/>).</summary>
    internal int FallbackReadLimit { get; }

    /// <summary>The resilience pipeline every routed command runs through (by default: primary wait, then reroute).</summary>
    internal Polly.ResiliencePipeline Pipeline { get; }

    /// <summary>
    /// The reroute options of the default pipeline, null when the application configured its own. With the defaults a
    /// command's first attempt runs outside the pipeline, which it enters only to wait for a primary or to reroute.
    /// </summary>
    internal RerouteStrategyOptions? FastPathReroute { get; }
    /// <summary>Brings sessions whose token is on an older (or newer) timeline than the newest primary's onto it; reports lost writes.</summary>
    internal Consistency.TimelineReconciler Timelines { get; }

    internal StatementClassifier Classifier => _classifier;

    private StatementClassifier NextClassifier(FunctionCatalog catalog, bool backslashEscapes)
    {
        var next = new StatementClassifier(catalog, onUnknownFunction: RequestCatalogRefresh) { BackslashEscapes = backslashEscapes };
        next.Inherit(_classifier);
        return next;
    }

    // A function created after the catalog was loaded (a new STABLE one) is unknown until the next load: look it up on
    // first sight, once per name (a name that stays unknown must not reload pg_proc every second).
    private void RequestCatalogRefresh(string reason)
    {
        if (_unknownFunctionsLookedUp.Count < 1024 && _unknownFunctionsLookedUp.TryAdd(reason, 0))
        {
            Monitor?.RequestCatalogRefresh();
        }
    }

    internal ILogger Logger { get; }

    internal string DatabaseName { get; }

    internal string HostList { get; }

    /// <summary>
    /// Folds what captures already cover into the session and returns the position a replica must have replayed for
    /// it: <see cref="Consistency.SessionPosition.MinLsn"/> is <see cref="ulong.MaxValue"/> while a command's position on the primary
    /// is still pending, or while the session's position is on a timeline no replica here can be shown to have (only the
    /// primary may serve), and <see cref="Consistency.SessionPosition.OnlyReplica"/> is the replica the
    /// session last read from while no later reading of it exists (only it, or the primary, may serve).
    /// A session on an older timeline is first moved to the newest one (<see cref="Consistency.TimelineReconciler.Reconcile"/>).
    /// Allocation-free unless it reports lost writes; no I/O.
    /// </summary>
    /// <exception cref="SessionWritesLostException">The session's writes were lost in a failover (<see cref="LostWritesPolicy.Throw"/>), reported once.</exception>
    internal Consistency.SessionPosition ResolveSession(ConsistencySession session, ClusterSnapshot snapshot)
    {
        if (session.PrimaryInFlight != 0)
        {
            // A reader of a command on the primary is open: its position is not known yet, so only the primary has it.
            return new Consistency.SessionPosition(ulong.MaxValue, null, 0, PrimaryReaderOpen: true);
        }

        if (!session.IsOnTimeline(snapshot.NewestPrimaryTimeline))
        {
            Timelines.Reconcile(session, snapshot);
        }

        var pending = session.PrimaryPendingSince;
        if (pending != 0)
        {
            if (!Clock.TryResolve(pending, out var reading))
            {
                return new Consistency.SessionPosition(ulong.MaxValue, null, pending);
            }

            session.Advance(reading.SystemIdentifier, reading.Timeline, reading.Lsn, wrote: session.PendingTimeline != 0);
            session.ClearPrimary(pending);
        }

        Topology.HostRuntime? onlyReplica = null;
        if (session.LastReplicaRead is { } mark)
        {
            var since = Volatile.Read(ref mark.Since);
            var sameEpoch = mark.Host.Epoch == mark.Epoch;
            if (sameEpoch && mark.Host.ReadingStartedAt > since)
            {
                session.Advance(snapshot.SystemIdentifier, mark.Host.Timeline, mark.Host.KnownLsn, wrote: false);
                session.ClearReplicaMark(mark, since);
            }
            else if (sameEpoch && Router.IsEligible(snapshot, mark.Host))
            {
                onlyReplica = mark.Host;
            }
            else if (Clock.TryResolve(since, out var reading))
            {
                // The replica left: the primary's position after the read is past anything it had.
                session.Advance(reading.SystemIdentifier, reading.Timeline, reading.Lsn, wrote: false);
                session.ClearReplicaMark(mark, since);
            }
            else
            {
                Clock.Demand(since);
                return new Consistency.SessionPosition(ulong.MaxValue, null, since);
            }
        }

        return new Consistency.SessionPosition(ValidateSession(session, snapshot), onlyReplica, 0);
    }

    /// <summary>
    /// Checks the session's resolved token against the cluster; returns the position reads need. A token of another
    /// cluster, or one further ahead of the primary than <see cref="ReplicatedDbOptions.MaxTokenAheadBytes"/>, is rejected
    /// or dropped. A position still on another timeline than the newest primary's (its fork point unknown, or a newer
    /// timeline than any seen here) cannot be compared with any replica's: only the primary serves it.
    /// </summary>
    internal ulong ValidateSession(ConsistencySession session, ClusterSnapshot snapshot)
    {
        var lsn = session.Lsn;
        if (lsn == 0)
        {
            return 0;
        }

        string? problem = null;
        var systemId = session.SystemIdentifier;
        var elsewhere = snapshot.NewestPrimaryTimeline != 0 && !session.IsOnTimeline(snapshot.NewestPrimaryTimeline);
        if (systemId != 0 && snapshot.SystemIdentifier != 0 && systemId != snapshot.SystemIdentifier)
        {
            problem = $"The consistency token {session.Token} belongs to the cluster with system_identifier {systemId}, not to this one ({snapshot.SystemIdentifier}).";
        }
        else if (!elsewhere && snapshot.Primary is { } primary && lsn > (ulong)primary.Lsn && lsn - (ulong)primary.Lsn > (ulong)Options.MaxTokenAheadBytes)
        {
            problem = $"The consistency token {session.Token} is {lsn - (ulong)primary.Lsn} bytes ahead of the primary ({primary.Lsn}); no write can be ahead of the primary.";
        }

        if (problem is null)
        {
            if (elsewhere)
            {
                return ulong.MaxValue;
            }

            if (session.IsUnvalidatedToken)
            {
                session.MarkValidated();
            }

            return lsn;
        }

        if (Options.InvalidTokenHandling == InvalidTokenHandling.Reject)
        {
            throw new ConsistencyTokenException(problem);
        }

        if (!session.IsUnvalidatedToken)
        {
            // Ignore is for tokens that arrive from outside. A session whose position was earned or checked here must not
            // be dropped silently: it would read a state older than its own writes.
            throw new ConsistencyTokenException(problem + " The session's position was already in use here, so it is not dropped (InvalidTokenHandling.Ignore applies only to a token that has just been resumed).");
        }

        session.Reset();
        return 0;
    }

    /// <summary>Waits for a replica to replay a session's position (the <c>Wait</c> policy, rejoins) begun so far; for tests.</summary>
    internal long ReplicaWaits => Volatile.Read(ref _replicaWaits);

    internal void OnReplicaWait() => Interlocked.Increment(ref _replicaWaits);

    /// <summary>Physical connections currently borrowed by routed connections (for leak tests).</summary>
    internal int LeasedConnections => Volatile.Read(ref _leasedConnections);

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    internal void OnPhysicalLeased() => Interlocked.Increment(ref _leasedConnections);

    internal void OnPhysicalReturned() => Interlocked.Decrement(ref _leasedConnections);

    /// <summary>Builds a data source from a multi-host connection string with default options.</summary>
    /// <param name="connectionString">The connection string naming every host.</param>
    /// <returns>The data source; its monitor starts probing at once.</returns>
    public static ReplicatedDataSource Create(string connectionString) => new ReplicatedDataSourceBuilder(connectionString).Build();

    /// <summary>Creates a routed connection with the data source's read preference.</summary>
    /// <returns>A closed connection.</returns>
    public new RoutedConnection CreateConnection() => new(this, null);

    /// <summary>Creates a routed connection whose reads follow <paramref name="readPreference"/>.</summary>
    /// <param name="readPreference">Where the connection's reads may go.</param>
    /// <returns>A closed connection.</returns>
    public RoutedConnection CreateConnection(ReadPreference readPreference) => new(this, readPreference);

    /// <summary>Creates a routed connection whose commands use <paramref name="session"/> (read-your-writes across connections).</summary>
    /// <param name="session">The consistency session, e.g. one per web request or resumed from a token.</param>
    /// <returns>A closed connection.</returns>
    public RoutedConnection CreateConnection(ConsistencySession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new RoutedConnection(this, null) { ConsistencySession = session };
    }

    /// <summary>Creates and opens a routed connection.</summary>
    /// <returns>An open connection.</returns>
    public new RoutedConnection OpenConnection()
    {
        var connection = CreateConnection();
        connection.Open();
        return connection;
    }

    /// <summary>Creates and opens a routed connection.</summary>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>An open connection.</returns>
    public new ValueTask<RoutedConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        // Opening does no I/O (physical connections open with the first command): no state machine.
        return cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<RoutedConnection>(cancellationToken) : new ValueTask<RoutedConnection>(OpenConnection());
    }

    /// <summary>
    /// Exports a session's token for another request or process (an HTTP header, a cookie, a queue message):
    /// <c>system_identifier:timeline:LSN</c>, signed when <see cref="ReplicatedDbOptions.TokenSigningKey"/> is set.
    /// </summary>
    /// <param name="session">The session.</param>
    /// <returns>The token text, or null if the session has not run a command yet.</returns>
    /// <exception cref="SessionWritesLostException">A failover lost the session's writes (<see cref="LostWritesPolicy.Throw"/>); reported once, the session continues on the new timeline.</exception>
    public string? ExportSession(ConsistencySession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return Internal.SyncPath.Result(GetSessionTokenCoreAsync(session, async: false, CancellationToken.None)) is { } token ? _tokenCodec.Encode(token) : null;
    }

    /// <summary>
    /// Exports the session as a compact string (see <see cref="ExportSession"/>), first waiting for the position of its
    /// latest commands if a background capture has not covered them yet (usually it has: it runs within
    /// <see cref="ReplicatedDbOptions.LsnCaptureInterval"/> of a write).
    /// </summary>
    /// <param name="session">The session to export.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The token string, or null if the session has no position yet.</returns>
    /// <exception cref="SessionWritesLostException">A failover lost the session's writes (<see cref="LostWritesPolicy.Throw"/>); reported once, the session continues on the new timeline.</exception>
    public async ValueTask<string?> ExportSessionAsync(ConsistencySession session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        return await GetSessionTokenCoreAsync(session, async: true, cancellationToken).ConfigureAwait(false) is { } token ? _tokenCodec.Encode(token) : null;
    }

    /// <summary>
    /// Gets the session's complete token: like <see cref="ConsistencySession.Token"/>, but first resolves the position of
    /// commands a background capture has not covered yet (capturing it now if needed).
    /// </summary>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancels the capture.</param>
    /// <returns>The token, or null if the session has no position yet.</returns>
    /// <exception cref="SessionWritesLostException">A failover lost the session's writes (<see cref="LostWritesPolicy.Throw"/>); reported once, the session continues on the new timeline.</exception>
    public async ValueTask<ConsistencyToken?> GetSessionTokenAsync(ConsistencySession session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        return await GetSessionTokenCoreAsync(session, async: true, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<ConsistencyToken?> GetSessionTokenCoreAsync(ConsistencySession session, bool async, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var snapshot = Monitor.HasCompletedFirstRound ? Monitor.Snapshot : await Monitor.WaitForFirstRoundAsync(async, cancellationToken).ConfigureAwait(false);
        var position = ResolveSession(session, snapshot);
        if (position.PendingSince != 0)
        {
            // A token leaves this process (or a caller wants it exact): capture now rather than wait for the background.
            // The capture started after everything pending, so it resolves it whatever else the ring holds.
            if (await Clock.CaptureNowAsync(async, cancellationToken).ConfigureAwait(false) is not { } reading)
            {
                throw new NoSuitableHostException($"The position of the session's latest commands could not be captured: no primary. Hosts: {Monitor.Snapshot.Describe()}");
            }

            session.Advance(reading.SystemIdentifier, reading.Timeline, reading.Lsn, wrote: session.PendingTimeline != 0);
            session.ClearPrimary(position.PendingSince);
            // Read the mark's time once: a read raising it meanwhile (after this capture started) must keep its mark.
            if (session.LastReplicaRead is { } left && Volatile.Read(ref left.Since) is var leftSince && leftSince < reading.StartedAt)
            {
                session.ClearReplicaMark(left, leftSince);
            }

            position = ResolveSession(session, Monitor.Snapshot);
        }

        if (position.OnlyReplica is { } replica && session.LastReplicaRead is { } mark)
        {
            try
            {
                await ReadReplicaPositionAsync(replica, async, cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException)
            {
                // The replica is gone; the primary's position below covers what it had.
            }

            if (ResolveSession(session, Monitor.Snapshot).OnlyReplica is not null)
            {
                // The replica did not answer: the primary's position after the read is past anything it had.
                var since = Volatile.Read(ref mark.Since);
                if (await Clock.CaptureNowAsync(async, cancellationToken).ConfigureAwait(false) is not { } reading)
                {
                    throw new NoSuitableHostException($"The position of the session's last replica read could not be captured. Hosts: {Monitor.Snapshot.Describe()}");
                }

                session.Advance(reading.SystemIdentifier, reading.Timeline, reading.Lsn, wrote: false);
                session.ClearReplicaMark(mark, since);
            }
        }

        return session.Token;
    }

    private async ValueTask ReadReplicaPositionAsync(Topology.HostRuntime replica, bool async, CancellationToken cancellationToken)
    {
        var startedAt = Clock.Now();
        var connection = async ? await replica.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false) : replica.DataSource.OpenConnection();
        try
        {
            using var command = new NpgsqlCommand("SELECT pg_catalog.pg_last_wal_replay_lsn()", connection);
            if ((async ? await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) : command.ExecuteScalar()) is NpgsqlTypes.NpgsqlLogSequenceNumber lsn)
            {
                replica.AdvanceKnownLsn((ulong)lsn, startedAt);
            }
        }
        finally
        {
            if (async)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                connection.Dispose();
            }
        }
    }

    /// <summary>
    /// Starts a session from an exported token. Garbage and bad signatures are rejected here; a token from another
    /// cluster or far ahead of the primary is rejected when it is first used (the topology is known then) — by a
    /// <see cref="ConsistencyTokenException"/>, or ignored (a fresh session) with <see cref="InvalidTokenHandling.Ignore"/>.
    /// A token from before a failover that lost what it covers is reported by the session's first command
    /// (<see cref="SessionWritesLostException"/>, per <see cref="ReplicatedDbOptions.LostWritesPolicy"/>). Tokens in the older
    /// form without a timeline (<c>system_identifier:LSN</c>) are accepted, their timeline unknown.
    /// </summary>
    /// <param name="token">The exported token; null or empty for a fresh session.</param>
    /// <returns>The session.</returns>
    /// <exception cref="ConsistencyTokenException">The token is malformed or its signature does not match, and invalid tokens are rejected.</exception>
    public ConsistencySession ResumeSession(string? token)
    {
        var session = new ConsistencySession();
        ResumeSessionInto(token, session);
        return session;
    }

    /// <summary>
    /// Resumes <paramref name="token"/> into an existing, fresh session (a DI-scoped one, so that every connection of the
    /// scope shares it); see <see cref="ResumeSession(string?)"/>. A token of another cluster under
    /// <see cref="InvalidTokenHandling.Ignore"/> leaves the session as it was.
    /// </summary>
    /// <exception cref="ConsistencyTokenException">The token is malformed, forged or of another cluster, and invalid tokens are rejected.</exception>
    internal void ResumeSessionInto(string? token, ConsistencySession session)
    {
        if (string.IsNullOrEmpty(token))
        {
            return;
        }

        if (_tokenCodec.Decode(token, out var problem) is { } decoded)
        {
            var cluster = Monitor.Snapshot.SystemIdentifier;
            if (cluster != 0 && decoded.SystemIdentifier != 0 && decoded.SystemIdentifier != cluster)
            {
                // Another cluster's token says nothing here, whatever its position (even 0/0).
                if (Options.InvalidTokenHandling == InvalidTokenHandling.Reject)
                {
                    throw new ConsistencyTokenException($"The consistency token belongs to the cluster with system_identifier {decoded.SystemIdentifier}, not to this one ({cluster}).");
                }

                return;
            }

            // What a resumed token says the session wrote counts as written (all of it, for a token that does not tell
            // writes apart): if a failover lost it, the session is told. The rest it only read: a replica that has the
            // write position may be rejoined after a short wait.
            session.Advance(decoded.SystemIdentifier, decoded.Timeline, (ulong)decoded.Lsn, wrote: false);
            session.Advance(decoded.SystemIdentifier, decoded.Timeline, decoded.MustSee, wrote: true);
            session.MarkResumed();
        }
        else if (Options.InvalidTokenHandling == InvalidTokenHandling.Reject)
        {
            throw new ConsistencyTokenException(problem!);
        }
    }

    /// <summary>
    /// Checks a just-resumed session against the cluster now rather than at its first command (which might be deep in
    /// a request handler): a token of another cluster or ahead of the primary is rejected, or dropped under
    /// <see cref="InvalidTokenHandling.Ignore"/>. Waits for the first topology probe if needed; no other I/O.
    /// </summary>
    /// <exception cref="ConsistencyTokenException">The token is invalid and invalid tokens are rejected.</exception>
    internal async ValueTask ValidateResumedSessionAsync(ConsistencySession session, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (!session.IsUnvalidatedToken)
        {
            return;
        }

        var snapshot = Monitor.HasCompletedFirstRound ? Monitor.Snapshot : await Monitor.WaitForFirstRoundAsync(async: true, cancellationToken).ConfigureAwait(false);
        _ = ValidateSession(session, snapshot);
    }

    /// <summary>
    /// The header name (message property, job argument) under which <see cref="AttachSessionAsync"/> puts a session's
    /// token and <see cref="ResumeSessionFrom"/> looks for it: <c>RoutingData-Session</c>.
    /// </summary>
    public const string SessionHeaderName = "RoutingData-Session";

    /// <summary>
    /// Puts the session's token into a message's or background job's headers (under <see cref="SessionHeaderName"/>), so
    /// that the consumer's reads see what the producer wrote and what it read (<see cref="ResumeSessionFrom"/>). A session
    /// with no position yet removes the header. The token is resolved first, as by <see cref="ExportSessionAsync"/>.
    /// </summary>
    /// <param name="session">The producer's session (a request's, a scope's, a connection's).</param>
    /// <param name="headers">The message's headers.</param>
    /// <param name="cancellationToken">Cancels resolving the token.</param>
    /// <returns>A task that completes when the header is set.</returns>
    /// <exception cref="SessionWritesLostException">A failover lost the session's writes (<see cref="LostWritesPolicy.Throw"/>).</exception>
    public async ValueTask AttachSessionAsync(ConsistencySession session, IDictionary<string, string> headers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(headers);
        if (await ExportSessionAsync(session, cancellationToken).ConfigureAwait(false) is { } token)
        {
            headers[SessionHeaderName] = token;
        }
        else
        {
            headers.Remove(SessionHeaderName);
        }
    }

    /// <summary>
    /// Resumes the session a producer attached to a message or job (<see cref="AttachSessionAsync"/>): the consumer's reads
    /// go to a replica only once it has replayed what the producer wrote and read, as for a resumed token
    /// (<see cref="ResumeSession"/>). Headers without the token give a fresh session. To wait for a replica rather than read
    /// the primary while none has caught up, set the session's <see cref="ConsistencySession.StaleReadPolicy"/> to
    /// <see cref="StaleReadPolicy.Wait"/>; to read only the primary, use a connection with <see cref="ReadPreference.Primary"/>.
    /// </summary>
    /// <param name="headers">The message's headers.</param>
    /// <returns>The session; use it with <see cref="CreateConnection(ConsistencySession)"/> or <see cref="ConsistencyScope.Begin(ConsistencySession?, StaleReadPolicy?)"/>.</returns>
    /// <exception cref="ConsistencyTokenException">The token is malformed or its signature does not match, and invalid tokens are rejected.</exception>
    public ConsistencySession ResumeSessionFrom(IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return ResumeSession(headers.TryGetValue(SessionHeaderName, out var token) ? token : null);
    }

    /// <summary>Returns what the topology monitor last saw of each host.</summary>
    /// <returns>One entry per configured host, in connection-string order.</returns>
    public IReadOnlyList<HostStatus> GetHosts()
    {
        var snapshot = Monitor.Snapshot;
        var result = new HostStatus[snapshot.Hosts.Length];
        for (var i = 0; i < result.Length; i++)
        {
            var host = snapshot.Hosts[i];
            result[i] = new HostStatus(
                host.Host.Endpoint.Name,
                host.Health,
                // A host that never answered has no role: unknown is not primary.
                host.SystemIdentifier is null ? null : host.IsInRecovery ? HostRole.Replica : HostRole.Primary,
                host.Timeline,
                snapshot.LagBytes[i],
                snapshot.Lags[i],
                host.RoundTripTime,
                Array.IndexOf(snapshot.EligibleReplicas, host) >= 0,
                host.LastError)
            {
                SourceReport = snapshot.DescribeSources(host.Host.Endpoint),
                FallbackReadConnections = host.Host.FallbackLeases,
                CommandsRouted = host.Host.CommandsRouted,
            };
        }

        return result;
    }

    /// <summary>Waits until every host has been probed once (the first command does this by itself).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes after the first probe round.</returns>
    public async Task WaitForTopologyAsync(CancellationToken cancellationToken = default) =>
        await Monitor.WaitForFirstRoundAsync(async: true, cancellationToken).ConfigureAwait(false);

    /// <summary>Probes every host now, without waiting for the interval or an unhealthy host's backoff.</summary>
    /// <param name="cancellationToken">Cancels the probes.</param>
    /// <returns>A task that completes when the new topology is published.</returns>
    public Task RefreshTopologyAsync(CancellationToken cancellationToken = default) => Monitor.RefreshAsync(cancellationToken);

    /// <inheritdoc />
    protected override DbConnection CreateDbConnection() => CreateConnection();

    /// <inheritdoc />
    protected override DbConnection OpenDbConnection() => OpenConnection();

    /// <inheritdoc />
    protected override ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default) =>
        cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<DbConnection>(cancellationToken) : new ValueTask<DbConnection>(OpenConnection());

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Stopping the monitor and the pools is asynchronous; Dispose has to wait for it.
            DisposeAsyncCore().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Clock.DisposeAsync().ConfigureAwait(false);
        await Monitor.DisposeAsync().ConfigureAwait(false);
        foreach (var host in _hosts)
        {
            await host.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsyncCore().ConfigureAwait(false);
    }
}
