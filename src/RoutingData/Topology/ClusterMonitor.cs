using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using RoutingData.Routing;
using RoutingData.Sql;
using RoutingData.Topology.Sources;

namespace RoutingData.Topology;

/// <summary>
/// Probes every host in the background (role, cluster identity, timeline, replay position, lag, round-trip
/// time) and publishes an immutable <see cref="ClusterSnapshot"/> after each round. Unhealthy hosts are
/// re-probed with exponential backoff. Commands never wait for it except for the very first snapshot.
/// </summary>
internal sealed partial class ClusterMonitor : IAsyncDisposable
{
    // One round trip per probe; pg_walfile_name only runs on a primary (it errors on a standby). The replay delay
    // is reported when replay is behind what was received, or when no WAL receiver runs (a disconnected standby
    // has replayed all it got and would otherwise look current forever).
    private const string ProbeSql = """
        SELECT pg_is_in_recovery(),
               (SELECT system_identifier FROM pg_control_system()),
               CASE WHEN pg_is_in_recovery()
                    THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))
                    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
               CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
               CASE WHEN pg_is_in_recovery()
                         AND (pg_last_wal_replay_lsn() < pg_last_wal_receive_lsn() OR NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver))
                    THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END,
               current_setting('server_version'),
               current_setting('wal_block_size')::int,
               pg_size_bytes(current_setting('wal_segment_size')),
               extract(epoch FROM pg_postmaster_start_time())::float8,
               current_setting('standard_conforming_strings') = 'on',
               EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE received_tli IS NOT NULL)
        """;

    private readonly HostRuntime[] _hosts;
    private readonly ReplicatedDbOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Action<FunctionCatalog>? _onCatalogLoaded;
    private readonly NpgsqlConnection?[] _probeConnections;
    private readonly HostState[] _states;
    private readonly SemaphoreSlim _roundLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _firstRound = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile ClusterSnapshot _snapshot;
    private Task? _loop;
    private readonly PrimaryPositionHistory _history;
    private TaskCompletionSource _published = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _fastUntil;
    private long _doubtSince;
    private long _roundStartedAt;
    private long _publishedRoundStartedAt;
    private int _newestPrimaryTimeline;
    private DateTimeOffset _catalogLoadedAt = DateTimeOffset.MinValue;
    private int _catalogRefreshRequested;
    private bool _standardConformingStrings = true;
    private readonly TopologySourcePoller? _sources;
    private readonly TopologyTelemetry _telemetry;

    public ClusterMonitor(HostRuntime[] hosts, ReplicatedDbOptions options, TimeProvider timeProvider, ILogger logger, Action<FunctionCatalog>? onCatalogLoaded, IReadOnlyList<TopologySourceRegistration>? sources = null)
    {
        _hosts = hosts;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _onCatalogLoaded = onCatalogLoaded;
        _probeConnections = new NpgsqlConnection?[hosts.Length];
        _states = new HostState[hosts.Length];
        for (var i = 0; i < hosts.Length; i++)
        {
            _states[i] = new HostState { Host = hosts[i], Health = HostHealth.Unknown };
        }

        _snapshot = ClusterSnapshot.Create(_states, options);
        _telemetry = new TopologyTelemetry(hosts.Length, timeProvider, logger);
        _sources = sources is { Count: > 0 } ? new TopologySourcePoller(this, sources, hosts, options, timeProvider, logger) : null;

        // Keep samples far enough apart that the ring reaches well past the time bound (and restarts far behind show).
        var bound = options.MaxReplicaLag ?? TimeSpan.FromSeconds(30);
        _history = new PrimaryPositionHistory(TimeSpan.FromTicks(Math.Max(options.TopologyProbeInterval.Ticks / 2, bound.Ticks / 64)), timeProvider.TimestampFrequency);
    }

    /// <summary>Now, as the monitor's <see cref="TimeProvider"/> counts (for <c>freshAfter</c>).</summary>
    public long Now => _timeProvider.GetTimestamp();

    /// <summary>Gets a value indicating whether the monitor probes at the failover cadence now.</summary>
    public bool IsProbingFast => _timeProvider.GetTimestamp() < Volatile.Read(ref _fastUntil);

    /// <summary>
    /// Says the primary is in doubt (a command could not reach a host, or found no primary): every host is probed at the
    /// failover cadence until a round that started after now confirms a primary. Cheap to call often.
    /// </summary>
    public void ReportDoubt()
    {
        var now = _timeProvider.GetTimestamp();
        Volatile.Write(ref _doubtSince, now);
        if (now >= Volatile.Read(ref _fastUntil))
        {
            Volatile.Write(ref _fastUntil, now + (long)(_options.FailoverProbingWindow.TotalSeconds * _timeProvider.TimestampFrequency));
            _logger.FastProbing(_options.FailoverProbeInterval);
        }

        Volatile.Read(ref _wake).TrySetResult();
    }

    /// <summary>
    /// Waits (bounded) until a snapshot has a primary, probing at the failover cadence meanwhile; returns the newest
    /// snapshot either way. For commands that need the primary and have sent nothing yet.
    /// </summary>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="freshAfter">A <see cref="TimeProvider"/> timestamp: only a probe round that started later counts (0: any).</param>
    /// <param name="async">Whether to wait asynchronously.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public ValueTask<ClusterSnapshot> WaitForPrimaryAsync(TimeSpan timeout, long freshAfter, bool async, CancellationToken cancellationToken) =>
        WaitForPrimaryAsync(timeout, freshAfter, ulong.MaxValue, async, cancellationToken);

    /// <summary>
    /// Waits (bounded) until a snapshot has a primary or, for a read the primary was to serve, an eligible replica known
    /// to have replayed <paramref name="replicaMinLsn"/>; probes at the failover cadence meanwhile and returns the newest
    /// snapshot either way.
    /// </summary>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="freshAfter">A <see cref="TimeProvider"/> timestamp: only a probe round that started later counts (0: any).</param>
    /// <param name="replicaMinLsn">The position a replica must have to end the wait; <see cref="ulong.MaxValue"/>: only a primary ends it.</param>
    /// <param name="async">Whether to wait asynchronously.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async ValueTask<ClusterSnapshot> WaitForPrimaryAsync(TimeSpan timeout, long freshAfter, ulong replicaMinLsn, bool async, CancellationToken cancellationToken)
    {
        var deadline = _timeProvider.GetTimestamp() + (long)(timeout.TotalSeconds * _timeProvider.TimestampFrequency);
        while (true)
        {
            var published = Volatile.Read(ref _published).Task;
            var snapshot = _snapshot;
            var left = deadline - _timeProvider.GetTimestamp();
            if ((snapshot.Fault is null && Volatile.Read(ref _publishedRoundStartedAt) > freshAfter && (snapshot.Primary is not null || HasReplicaAt(snapshot, replicaMinLsn))) || left <= 0)
            {
                return snapshot;
            }

            ReportDoubt();
            var wait = TimeSpan.FromSeconds((double)left / _timeProvider.TimestampFrequency);
            try
            {
                if (async)
                {
                    await published.WaitAsync(wait, _timeProvider, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    // ADO.NET's synchronous API has to block here.
                    published.Wait(wait, cancellationToken);
                }
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>The start (a <see cref="TimeProvider"/> timestamp) of the probe round behind the current snapshot.</summary>
    public long PublishedRoundStartedAt => Volatile.Read(ref _publishedRoundStartedAt);

    private static bool HasReplicaAt(ClusterSnapshot snapshot, ulong minLsn)
    {
        if (minLsn == ulong.MaxValue)
        {
            return false;
        }

        foreach (var replica in snapshot.EligibleReplicas)
        {
            if (Routing.ReplicaSelector.IsCandidate(replica, null, minLsn))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Called (on the monitor's loop) when the servers' default <c>standard_conforming_strings</c> changes; the argument is the new value.</summary>
    public Action<bool>? StandardConformingStringsChanged { get; set; }

    /// <summary>
    /// Asks for the function catalog to be reloaded soon (a name the classifier did not know, perhaps created since the
    /// last load): at most one load a second, off the caller's path.
    /// </summary>
    public void RequestCatalogRefresh()
    {
        if (_onCatalogLoaded is null || Interlocked.Exchange(ref _catalogRefreshRequested, 1) != 0 || _stopping.IsCancellationRequested)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var wait = _catalogLoadedAt + MinCatalogSpacing - _timeProvider.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _timeProvider, _stopping.Token).ConfigureAwait(false);
                }

                await _roundLock.WaitAsync(_stopping.Token).ConfigureAwait(false);
                try
                {
                    await MaybeLoadCatalogAsync(requested: true, _stopping.Token).ConfigureAwait(false);
                }
                finally
                {
                    _roundLock.Release();
                }
            }
#pragma warning disable CA1031 // A background refresh that fails is retried at the next request or interval.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
            finally
            {
                Volatile.Write(ref _catalogRefreshRequested, 0);
            }
        });
    }

    private static readonly TimeSpan MinCatalogSpacing = TimeSpan.FromSeconds(1);

    /// <summary>The latest snapshot; read without a lock on every command.</summary>
    public ClusterSnapshot Snapshot => _snapshot;

    public bool HasCompletedFirstRound => _firstRound.Task.IsCompleted;

    /// <summary>The topology sources' poller; null without sources.</summary>
    public TopologySourcePoller? Sources => _sources;

    public void Start()
    {
        _loop = Task.Run(LoopAsync);
        Diagnostics.ObservedHosts.Register(this);
        _sources?.Start(_firstRound.Task, _stopping.Token);
    }

    /// <summary>Waits for the first probe round, bounded by <see cref="ReplicatedDbOptions.InitialTopologyTimeout"/>.</summary>
    public async ValueTask<ClusterSnapshot> WaitForFirstRoundAsync(bool async, CancellationToken cancellationToken)
    {
        if (!_firstRound.Task.IsCompleted)
        {
            if (async)
            {
                await _firstRound.Task.WaitAsync(_options.InitialTopologyTimeout, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
            else if (!_firstRound.Task.Wait(_options.InitialTopologyTimeout, cancellationToken))
            {
                // ADO.NET's synchronous API has to block here; this happens once per data source.
                throw new TimeoutException($"The first topology probe did not finish within {_options.InitialTopologyTimeout}.");
            }
        }

        return _snapshot;
    }

    /// <summary>Probes every host now (not waiting for backoff) and publishes the result.</summary>
    public Task RefreshAsync(CancellationToken cancellationToken) => ProbeRoundAsync(force: true, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        // Commands still waiting for the first round fail at once instead of timing out.
        _firstRound.TrySetException(new ObjectDisposedException(nameof(ReplicatedDataSource)));
        Diagnostics.ObservedHosts.Unregister(this);
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _telemetry.Stop();

        if (_sources is not null)
        {
            await _sources.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var connection in _probeConnections)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }

        _roundLock.Dispose();
        _stopping.Dispose();
    }

    private async Task LoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                var wake = Volatile.Read(ref _wake);
                var fast = IsProbingFast;
                await ProbeRoundAsync(force: fast, token).ConfigureAwait(false);

                // A doubt reported meanwhile (a command that could not reach a host) cuts the wait short.
                using var delay = CancellationTokenSource.CreateLinkedTokenSource(token);
                var sleeping = Task.Delay(IsProbingFast ? _options.FailoverProbeInterval : _options.TopologyProbeInterval, _timeProvider, delay.Token);
                await Task.WhenAny(sleeping, wake.Task).ConfigureAwait(false);
                await delay.CancelAsync().ConfigureAwait(false);
                token.ThrowIfCancellationRequested();
                Interlocked.CompareExchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), wake);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The monitor must outlive any single failure; each host's errors are handled in ProbeHostAsync.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _logger.ProbeFailed("(all)", 0, _options.TopologyProbeInterval, e.Message);
            }
        }
    }

    private async Task ProbeRoundAsync(bool force, CancellationToken cancellationToken)
    {
        await _roundLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _roundStartedAt = _timeProvider.GetTimestamp();
            var now = _timeProvider.GetUtcNow();
            var probes = new List<Task>(_hosts.Length);
            for (var i = 0; i < _hosts.Length; i++)
            {
                if (force || _states[i].Health == HostHealth.Unknown || now >= _states[i].NextProbeAt)
                {
                    probes.Add(ProbeHostAsync(i, cancellationToken));
                }
            }

            await Task.WhenAll(probes).ConfigureAwait(false);
            Publish(await LoadTimelineHistoryAsync(cancellationToken).ConfigureAwait(false));
            await MaybeLoadCatalogAsync(requested: false, cancellationToken).ConfigureAwait(false);
            _firstRound.TrySetResult();
        }
        finally
        {
            _roundLock.Release();
        }
    }

    private async Task ProbeHostAsync(int index, CancellationToken cancellationToken)
    {
        var host = _hosts[index];
        var previous = _states[index];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.TopologyProbeTimeout);
        try
        {
            var connection = _probeConnections[index];
            if (connection is null || connection.State != System.Data.ConnectionState.Open)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }

                connection = _probeConnections[index] = host.ProbeDataSource.CreateConnection();
                await connection.OpenAsync(timeout.Token).ConfigureAwait(false);
            }

            var stopwatch = Stopwatch.StartNew();
            var sentAt = _timeProvider.GetTimestamp();
            var startedAt = _timeProvider.GetTimestamp();
            using var command = new NpgsqlCommand(ProbeSql, connection);
            var reader = await command.ExecuteReaderAsync(timeout.Token).ConfigureAwait(false);
            HostState state;
            try
            {
                await reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                var rtt = stopwatch.Elapsed;
                var smoothed = previous.IsHealthy ? TimeSpan.FromTicks((long)((previous.RoundTripTime.Ticks * 0.7) + (rtt.Ticks * 0.3))) : rtt;
                var now = _timeProvider.GetUtcNow();
                state = new HostState
                {
                    Host = host,
                    Health = HostHealth.Healthy,
                    IsInRecovery = reader.GetBoolean(0),
                    SystemIdentifier = reader.IsDBNull(1) ? null : reader.GetInt64(1),
                    Timeline = StandbyTimeline(previous, reader.IsDBNull(2) ? 0 : reader.GetInt32(2), reader.GetBoolean(0), reader.GetBoolean(10), reader.GetDouble(8)),
                    Lsn = reader.IsDBNull(3) ? default : reader.GetFieldValue<NpgsqlLogSequenceNumber>(3),
                    ReplayDelay = reader.IsDBNull(4) ? null : TimeSpan.FromSeconds(reader.GetDouble(4)),
                    ServerVersion = reader.GetString(5),
                    WalBlockSize = reader.GetInt32(6),
                    WalSegmentSize = reader.GetInt64(7),
                    ServerStartedAt = reader.GetDouble(8),
                    StandardConformingStrings = reader.IsDBNull(9) || reader.GetBoolean(9),
                    ProbeSentAt = sentAt,
                    ProbeAnsweredAt = _timeProvider.GetTimestamp(),
                    RoundTripTime = smoothed,
                    ProbedAt = now,
                    NextProbeAt = now + _options.TopologyProbeInterval,
                };
            }
            finally
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }

            _states[index] = state;
            host.MarkAnswered(sentAt);
            host.Timeline = state.Timeline;
            // A restart, a new timeline, or a replay position that went back (a standby restarted from an older state, or
            // an endpoint — VIP, pooler — that now reaches another standby): what was known of its position means nothing.
            var wentBack = previous.IsHealthy && previous.IsInRecovery && state.IsInRecovery && (ulong)state.Lsn < (ulong)previous.Lsn;
            var restarted = previous.ServerStartedAt != 0 && previous.ServerStartedAt != state.ServerStartedAt;
            if ((previous.Timeline != state.Timeline && previous.Timeline != 0) || restarted || wentBack)
            {
                host.ResetKnownLsn((ulong)state.Lsn);
            }

            if (restarted || (previous.Health != HostHealth.Unknown && previous.IsInRecovery != state.IsInRecovery))
            {
                // Pooled connections from before a restart or a change of role are dead or wrong: drop them now rather
                // than let each fail one command.
                host.DataSource.Clear();
                host.ReadOnlyDataSource.Clear();
                host.InternalDataSource.Clear();
            }
            else
            {
                host.AdvanceKnownLsn((ulong)state.Lsn, startedAt);
            }

            if (previous.Health != HostHealth.Healthy || previous.IsInRecovery != state.IsInRecovery)
            {
                _logger.HostStateChanged(host.Endpoint.Name, state.Health, state.IsInRecovery ? "replica" : "primary", state.Timeline);
            }
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException or IOException or InvalidOperationException or InvalidCastException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            await DropProbeConnectionAsync(index).ConfigureAwait(false);
            var failures = previous.Health == HostHealth.Unhealthy ? previous.ConsecutiveFailures + 1 : 1;
            var backoff = TimeSpan.FromTicks(Math.Min(_options.MaxProbeBackoff.Ticks, _options.TopologyProbeInterval.Ticks << Math.Min(failures - 1, 16)));
            var error = e is OperationCanceledException ? $"no answer within {_options.TopologyProbeTimeout.TotalSeconds:0.###} s" : e.Message;
            var now = _timeProvider.GetUtcNow();
            _states[index] = previous with
            {
                Health = HostHealth.Unhealthy,
                ConsecutiveFailures = failures,
                LastError = error,
                ProbedAt = now,
                NextProbeAt = now + backoff,
            };
            _logger.ProbeFailed(host.Endpoint.Name, failures, backoff, error);
            if (failures >= 2 || e is not OperationCanceledException)
            {
                // Given up (refused, reset, or no answer twice in a row): commands and connection attempts in flight
                // there stop waiting for it — a blackholed host would hold them until their own timeouts.
                host.AbandonInFlight();
            }
        }
    }

    /// <summary>
    /// A standby without a WAL receiver (its primary just died) reports the timeline of its last restartpoint, which
    /// can be older than the one it follows: keep what its receiver said last, unless the server restarted since.
    /// </summary>
    private static int StandbyTimeline(HostState previous, int probed, bool inRecovery, bool fromReceiver, double serverStartedAt) =>
        inRecovery && !fromReceiver && previous.IsInRecovery && previous.ServerStartedAt == serverStartedAt && previous.Timeline > probed
            ? previous.Timeline
            : probed;

    private async Task DropProbeConnectionAsync(int index)
    {
        var connection = _probeConnections[index];
        _probeConnections[index] = null;
        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Publish(TimelineHistory? timelines)
    {
        var previous = _snapshot;
        var snapshot = ClusterSnapshot.Create((HostState[])_states.Clone(), _options, _newestPrimaryTimeline, _history, timelines, _sources?.Reports, previous);
        var confirmed = snapshot.Primary is not null && snapshot.Fault is null && _roundStartedAt > Volatile.Read(ref _doubtSince);
        if (snapshot.Primary is null && previous.Primary is not null)
        {
            ReportDoubt(); // The primary is gone: look for the promoted one at the failover cadence.
        }
        else if (snapshot.Primary is not null && _roundStartedAt > Volatile.Read(ref _doubtSince) && IsProbingFast)
        {
            Volatile.Write(ref _fastUntil, 0); // Confirmed by a round that started after the last doubt.
        }

        var conforming = true;
        foreach (var host in snapshot.Hosts)
        {
            conforming &= !host.IsHealthy || host.StandardConformingStrings;
        }

        if (conforming != _standardConformingStrings)
        {
            _standardConformingStrings = conforming;
            StandardConformingStringsChanged?.Invoke(conforming);
        }

        _newestPrimaryTimeline = Math.Max(_newestPrimaryTimeline, snapshot.Primary?.Timeline ?? 0);
        _snapshot = snapshot;
        Volatile.Write(ref _publishedRoundStartedAt, _roundStartedAt);
        Interlocked.Exchange(ref _published, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        if (previous.Primary?.Host != snapshot.Primary?.Host && previous.Primary is not null)
        {
            _logger.PrimaryChanged(previous.Primary.Host.Endpoint.Name, snapshot.Primary?.Host.Endpoint.Name ?? "(none)");
        }

        if (snapshot.Fault is not null && previous.Fault is null)
        {
            _logger.ClusterMismatch(snapshot.Fault.Message);
        }

        _telemetry.OnPublished(previous, snapshot, confirmed, _options.FailoverProbeInterval);
    }

    private async Task MaybeLoadCatalogAsync(bool requested, CancellationToken cancellationToken)
    {
        var primary = _snapshot.Primary;
        var since = _timeProvider.GetUtcNow() - _catalogLoadedAt;
        // A requested load has waited out the spacing already (a timer may wake a hair early).
        if (_onCatalogLoaded is null || primary is null || (!requested && since < _options.FunctionCatalogRefreshInterval))
        {
            return;
        }

        var connection = _probeConnections[primary.Host.Index];
        if (connection is null)
        {
            return;
        }

        try
        {
            var catalog = await FunctionCatalog.LoadAsync(connection, _options.ReadOnlyFunctions, _options.WritingFunctions, cancellationToken).ConfigureAwait(false);
            _catalogLoadedAt = _timeProvider.GetUtcNow();
            _onCatalogLoaded(catalog);
            _logger.FunctionCatalogLoaded(primary.Host.Endpoint.Name);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or InvalidOperationException)
        {
            // Try again after the next interval rather than every round.
            _catalogLoadedAt = _timeProvider.GetUtcNow();
            _logger.FunctionCatalogFailed(primary.Host.Endpoint.Name, e.Message);
        }
    }
}
