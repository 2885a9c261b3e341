using Npgsql;

namespace RoutingData.Topology;

/// <summary>
/// Everything about one host that lives as long as the data source: its pools and the counters the hot path
/// updates. The monitor's view of the host (role, lag, health) lives in immutable <see cref="HostState"/>s instead.
/// </summary>
internal sealed class HostRuntime(int index, HostEndpoint endpoint, NpgsqlDataSource dataSource, NpgsqlDataSource probeDataSource, int weight, NpgsqlDataSource? readOnlyDataSource = null, NpgsqlDataSource? internalDataSource = null) : IAsyncDisposable
{
    private int _outstanding;
    private int _fallbackLeases;
    private int _rejoinFailures;
    private long _rejoinNotBefore;
    private long _commandsRouted;
    private ulong _knownLsn;
    private long _readingStartedAt;
    private int _epoch;
    private int _timeline;
    private ulong _staleCheckLsn = ulong.MaxValue;
    private long _staleCheckAt;
    private long _unreachableSince;
    private CancellationTokenSource _abandon = new();

    // 20 ms: long enough to spare a burst of doomed checks, short enough to notice a replica catching up.
    private static readonly long StaleCheckWindow = System.Diagnostics.Stopwatch.Frequency / 50;

    public int Index { get; } = index;

    public HostEndpoint Endpoint { get; } = endpoint;

    /// <summary>The pooled data source commands borrow connections from.</summary>
    public NpgsqlDataSource DataSource { get; } = dataSource;

    /// <summary>
    /// The pooled data source for replica reads: its sessions run with <c>default_transaction_read_only = on</c>, so a
    /// statement the classifier missed cannot write on a host promoted since the last probe (it fails with 25006 and
    /// runs once on the primary instead of twice).
    /// </summary>
    public NpgsqlDataSource ReadOnlyDataSource { get; } = readOnlyDataSource ?? dataSource;

    /// <summary>An unpooled data source with a short connect timeout for the monitor's probes.</summary>
    public NpgsqlDataSource ProbeDataSource { get; } = probeDataSource;

    /// <summary>
    /// The pool of RoutingData's own commands (position captures): apart from the application's, so they neither take
    /// its connections nor fill its command log (their entries go under <c>RoutingData.Internal.</c>, one level lower).
    /// </summary>
    public NpgsqlDataSource InternalDataSource { get; } = internalDataSource ?? dataSource;

    public int Weight { get; } = weight;

    /// <summary>The host's timeline as its latest probe saw it (0 before the first answer): the timeline of positions read there.</summary>
    public int Timeline
    {
        get => Volatile.Read(ref _timeline);
        set => Volatile.Write(ref _timeline, value);
    }

    /// <summary>Physical connections to this host (as primary) held by reads that fell back to it because no replica could take them.</summary>
    public int FallbackLeases => Volatile.Read(ref _fallbackLeases);

    /// <summary>Takes one of <paramref name="limit"/> connections for a fallback read; false (nothing taken) when all are held.</summary>
    public bool TryLeaseForFallback(int limit)
    {
        if (Interlocked.Increment(ref _fallbackLeases) <= limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _fallbackLeases);
        return false;
    }

    /// <summary>A connection taken by <see cref="TryLeaseForFallback"/> went back to the pool.</summary>
    public void ReturnFallbackLease() => Interlocked.Decrement(ref _fallbackLeases);

    /// <summary>
    /// Until when (a <see cref="TimeProvider"/> timestamp) no session waits to rejoin this replica: a wait here did not
    /// catch up lately. Shared by every session, so sessions carried as tokens (a fresh session object per request) do
    /// not each wait in vain.
    /// </summary>
    public long RejoinNotBefore => Volatile.Read(ref _rejoinNotBefore);

    /// <summary>Records the outcome of a wait to rejoin this replica (see <see cref="RejoinNotBefore"/>).</summary>
    public void RecordRejoin(bool caughtUp, long now, long ticksPerSecond) =>
        Internal.RejoinBackoff.Record(ref _rejoinFailures, ref _rejoinNotBefore, caughtUp, now, ticksPerSecond);

    /// <summary>Commands in flight on this host (for least-outstanding balancing).</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>
    /// The highest WAL position this host is known to have (replayed, on a replica): from probes and from the
    /// position captured with every routed command. Only ever grows while the host keeps its timeline.
    /// </summary>
    public ulong KnownLsn => Volatile.Read(ref _knownLsn);

    public void AdvanceKnownLsn(ulong lsn) => Internal.InterlockedMax.Raise(ref _knownLsn, lsn);

    /// <summary>
    /// The start (a <see cref="TimeProvider"/> timestamp) of the latest query that read this host's position:
    /// <see cref="KnownLsn"/> is at least what the host had then, so it covers every read acknowledged before it.
    /// </summary>
    public long ReadingStartedAt => Volatile.Read(ref _readingStartedAt);

    /// <summary>Records a position read by a query that started at <paramref name="startedAt"/>.</summary>
    public void AdvanceKnownLsn(ulong lsn, long startedAt)
    {
        // Position first, then time: whoever sees the time also sees a position at least that reading's.
        Internal.InterlockedMax.Raise(ref _knownLsn, lsn);
        Internal.InterlockedMax.Raise(ref _readingStartedAt, startedAt);
    }

    /// <summary>
    /// Remembers that a freshness check on this replica just failed for <paramref name="lsn"/>: for a short while,
    /// a read needing at least that position skips the check (it would fail again) and applies its policy at once.
    /// </summary>
    public void RecordStaleCheck(ulong lsn)
    {
        Volatile.Write(ref _staleCheckLsn, lsn);
        Volatile.Write(ref _staleCheckAt, System.Diagnostics.Stopwatch.GetTimestamp());
    }

    public bool RecentlyStaleFor(ulong lsn) =>
        lsn >= Volatile.Read(ref _staleCheckLsn)
        && System.Diagnostics.Stopwatch.GetTimestamp() - Volatile.Read(ref _staleCheckAt) < StaleCheckWindow;

    /// <summary>
    /// Counts the resets of <see cref="KnownLsn"/>: a session that read from this host in an earlier epoch cannot
    /// rely on it having only moved forward since.
    /// </summary>
    public int Epoch => Volatile.Read(ref _epoch);

    /// <summary>
    /// Forgets the known position: the host changed timeline or restarted (a standby restarted after a crash may
    /// reopen behind what it showed before), so its old positions mean nothing now.
    /// </summary>
    public void ResetKnownLsn(ulong lsn)
    {
        Interlocked.Increment(ref _epoch);
        Volatile.Write(ref _knownLsn, lsn);
    }

    /// <summary>
    /// Whether a connection attempt to this host failed since the monitor last heard from it: no new command is
    /// routed here until a probe sent after the failure answers (the probe, not a user's request, pays for finding
    /// out whether the host is back).
    /// </summary>
    public bool IsUnreachable => Volatile.Read(ref _unreachableSince) != 0;

    /// <summary>When (a <see cref="TimeProvider"/> timestamp) the host was found unreachable; 0 if it is not.</summary>
    public long UnreachableSince => Volatile.Read(ref _unreachableSince);

    public void MarkUnreachable(long now) => Interlocked.CompareExchange(ref _unreachableSince, Math.Max(now, 1), 0);

    /// <summary>A probe sent at <paramref name="probeSentAt"/> answered: a failure seen before it sent no longer counts.</summary>
    public void MarkAnswered(long probeSentAt)
    {
        var since = Volatile.Read(ref _unreachableSince);
        if (since != 0 && probeSentAt > since)
        {
            Interlocked.CompareExchange(ref _unreachableSince, 0, since);
        }
    }

    /// <summary>Cancelled when the monitor gives the host up: commands and connection attempts in flight there stop waiting.</summary>
    public CancellationToken AbandonToken => Volatile.Read(ref _abandon).Token;

    /// <summary>Stops every command and connection attempt in flight on this host (it stopped answering); later ones get a fresh token.</summary>
    public void AbandonInFlight()
    {
        var abandoned = Interlocked.Exchange(ref _abandon, new CancellationTokenSource());

        // Off the caller's thread: the callbacks include Npgsql's cancellation of each command, which talks to the host.
        ThreadPool.UnsafeQueueUserWorkItem(static source => source.Cancel(), abandoned, preferLocal: false);
    }

    /// <summary>Commands (each attempt of one) routed to this host since the data source was built.</summary>
    public long CommandsRouted => Volatile.Read(ref _commandsRouted);

    public void BeginCommand()
    {
        Interlocked.Increment(ref _outstanding);
        Interlocked.Increment(ref _commandsRouted);
    }

    public void EndCommand() => Interlocked.Decrement(ref _outstanding);

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync().ConfigureAwait(false);
        if (ReadOnlyDataSource != DataSource)
        {
            await ReadOnlyDataSource.DisposeAsync().ConfigureAwait(false);
        }

        await ProbeDataSource.DisposeAsync().ConfigureAwait(false);
        if (InternalDataSource != DataSource)
        {
            await InternalDataSource.DisposeAsync().ConfigureAwait(false);
        }
    }
}
