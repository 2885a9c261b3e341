using NpgsqlTypes;

namespace RoutingData;

/// <summary>
/// What one logical user of the database has written and read, as a <see cref="ConsistencyToken"/>. A read is
/// served by a replica only if that replica has replayed past the token (read-your-writes), and after every read
/// the token advances to what that read saw (monotonic reads). Thread-safe; carry it across requests and
/// processes with <see cref="ReplicatedDataSource.ExportSession"/> and <see cref="ReplicatedDataSource.ResumeSession"/>.
/// </summary>
/// <remarks>
/// The token carries the timeline of the primary its position was taken on. After a failover the session moves to the
/// new primary's timeline if its position is on the new history too; if the session wrote past the point where the new
/// timeline forked off (an asynchronous standby was promoted without those writes), its next command reports that
/// (<see cref="SessionWritesLostException"/>, or a warning under <see cref="LostWritesPolicy.Ignore"/>), once, and
/// <see cref="LostWrites"/> keeps the report.
/// </remarks>
public sealed class ConsistencySession
{
    /// <summary>The position of a write whose position was never captured (its primary went away first).</summary>
    internal const ulong UnknownWrite = ulong.MaxValue;

    // Positions only ever move forward on one timeline; a move to another timeline changes all three at once.
    private readonly object _gate = new();
    private ulong _systemIdentifier;
    private int _timeline;
    private ulong _lsn;

    // The highest position the session's own commands on the primary reached on _timeline (a resumed token counts as
    // one); UnknownWrite when a write's position was never captured. Reads move only _lsn. Only this decides lost writes.
    private ulong _writeLsn;
    private long _primaryPendingSince;
    private int _pendingTimeline;
    private int _primaryInFlight;
    private volatile bool _unvalidatedToken;
    private ReplicaMark? _replicaMark;
    private long _rejoinNotBefore;
    private int _rejoinFailures;
    private SessionWritesLostException? _lostWrites;

    /// <summary>Gets the session's token, or null before its first command.</summary>
    public ConsistencyToken? Token
    {
        get
        {
            lock (_gate)
            {
                return _lsn == 0 ? null : CurrentToken();
            }
        }
    }

    // Under _gate. The write position is told apart only when it is lower (an unknown write counts as the whole).
    private ConsistencyToken CurrentToken() => new(_systemIdentifier, _timeline, new NpgsqlLogSequenceNumber(_lsn))
    {
        WriteLsn = _writeLsn < _lsn ? new NpgsqlLogSequenceNumber(_writeLsn) : null,
    };

    /// <summary>Gets or sets this session's policy when no replica has caught up; null defers to the data source.</summary>
    public StaleReadPolicy? StaleReadPolicy { get; set; }

    /// <summary>
    /// Gets the last report of this session's writes lost in a failover (whatever <see cref="ReplicatedDbOptions.LostWritesPolicy"/>
    /// says), or null if none was found. The session has moved on to the new primary's timeline since.
    /// </summary>
    public SessionWritesLostException? LostWrites => Volatile.Read(ref _lostWrites);

    /// <summary>
    /// Occurs when this session's writes are found lost in a failover, on the thread of the command that found it, before
    /// that command throws (<see cref="LostWritesPolicy.Throw"/>) or goes on (<see cref="LostWritesPolicy.Ignore"/>).
    /// An exception thrown by a handler ends that command.
    /// </summary>
    public event EventHandler<SessionWritesLostException>? WritesLost;

    internal ulong Lsn => Volatile.Read(ref _lsn);

    /// <summary>
    /// The part of <see cref="Lsn"/> the session must see because it wrote it; the rest it only happened to see (positions
    /// its reads captured). A write whose position was never captured counts as the whole position.
    /// </summary>
    internal ulong MustSeeLsn => Math.Min(Volatile.Read(ref _writeLsn), Volatile.Read(ref _lsn));

    /// <summary>
    /// When (a <see cref="TimeProvider"/> timestamp) this session may next wait to rejoin a replica; raised after a
    /// rejoin that did not catch up, so a session whose replicas keep falling behind does not wait on every read.
    /// </summary>
    internal long RejoinNotBefore => Volatile.Read(ref _rejoinNotBefore);

    /// <summary>Records the outcome of a wait to rejoin a replica: success clears the backoff, failure doubles it (1 s to 30 s).</summary>
    internal void RecordRejoin(bool caughtUp, long now, long ticksPerSecond) =>
        Internal.RejoinBackoff.Record(ref _rejoinFailures, ref _rejoinNotBefore, caughtUp, now, ticksPerSecond);

    /// <summary>The timeline of the session's position; 0 when unknown (no position yet, or a token in the older text form).</summary>
    internal int Timeline => Volatile.Read(ref _timeline);

    /// <summary>Whether the session's position needs nothing from a timeline change: none known, or it is on <paramref name="timeline"/>.</summary>
    internal bool IsOnTimeline(int timeline)
    {
        var own = Volatile.Read(ref _timeline);
        return own == 0 || own == timeline;
    }

    /// <summary>The timeline of the primary the command last marked pending ran on (0: not known, or not a command on the primary).</summary>
    internal int PendingTimeline => Volatile.Read(ref _pendingTimeline);

    /// <summary>A newer timeline this session's token is on that the monitor was waited for in vain (so later commands do not wait again).</summary>
    internal int TimelineWaitedFor { get; set; }

    /// <summary>
    /// When (a <see cref="TimeProvider"/> timestamp) this session last finished a command on the primary whose position
    /// is not captured yet; 0 when none. Until a capture that started later resolves it, reads go to the primary.
    /// </summary>
    internal long PrimaryPendingSince => Volatile.Read(ref _primaryPendingSince);

    /// <summary>The replica this session last read from, and when; its position is resolved from a later reading of that host.</summary>
    internal ReplicaMark? LastReplicaRead => Volatile.Read(ref _replicaMark);

    /// <summary>
    /// Commands on the primary whose readers are still open (an <c>INSERT … RETURNING</c> being read): what they wrote may
    /// have committed, but their position is not known until they close, so meanwhile this session reads the primary.
    /// </summary>
    internal int PrimaryInFlight => Volatile.Read(ref _primaryInFlight);

    internal void BeginPrimaryCommand() => Interlocked.Increment(ref _primaryInFlight);

    internal void EndPrimaryCommand() => Interlocked.Decrement(ref _primaryInFlight);

    /// <summary>Records a command on the primary finished at <paramref name="acknowledgedAt"/> (or failed then: it may have committed).</summary>
    /// <param name="acknowledgedAt">When it finished.</param>
    /// <param name="timeline">The timeline of the primary it ran on; 0 for a mark that stands in for a read.</param>
    internal void MarkPrimary(long acknowledgedAt, int timeline = 0)
    {
        if (timeline != 0)
        {
            Volatile.Write(ref _pendingTimeline, timeline);
        }

        Internal.InterlockedMax.Raise(ref _primaryPendingSince, acknowledgedAt);
    }

    /// <summary>A capture resolved the primary position up to <paramref name="since"/>; a later mark stays.</summary>
    internal void ClearPrimary(long since) => Interlocked.CompareExchange(ref _primaryPendingSince, 0, since);

    /// <summary>Records a read on <paramref name="host"/> acknowledged at <paramref name="acknowledgedAt"/>; allocates only when the host changes.</summary>
    internal void MarkReplicaRead(Topology.HostRuntime host, long acknowledgedAt, Consistency.PrimaryPositionClock clock)
    {
        var mark = Volatile.Read(ref _replicaMark);
        var epoch = host.Epoch;
        if (mark is not null && mark.Host == host && mark.Epoch == epoch)
        {
            Internal.InterlockedMax.Raise(ref mark.Since, acknowledgedAt);

            // Still the session's mark (not cleared by a resolution meanwhile)? Then the raise counts.
            if (Volatile.Read(ref _replicaMark) == mark)
            {
                return;
            }
        }

        var created = new ReplicaMark(host, epoch, acknowledgedAt);
        var previous = Interlocked.Exchange(ref _replicaMark, created);
        if (previous is null)
        {
            return;
        }

        var since = Volatile.Read(ref previous.Since);
        if (previous.Host == host && previous.Epoch == epoch)
        {
            Internal.InterlockedMax.Raise(ref created.Since, since); // A concurrent read on the same replica.
        }
        else if (previous.Host.Epoch == previous.Epoch && previous.Host.ReadingStartedAt > since)
        {
            Advance(0, previous.Host.Timeline, previous.Host.KnownLsn, wrote: false); // Already covered by a later reading of that replica.
        }
        else
        {
            // Another connection of this session read elsewhere meanwhile (sessions are shared by DI and ambient
            // scopes): one mark cannot hold both, so the primary's position after that read stands in for it.
            MarkPrimary(since);
            clock.Demand(since);
        }
    }

    /// <summary>Drops a mark that a reading resolved up to <paramref name="since"/>, unless a later read raised it meanwhile.</summary>
    internal void ClearReplicaMark(ReplicaMark mark, long since)
    {
        if (Interlocked.CompareExchange(ref _replicaMark, null, mark) == mark && Volatile.Read(ref mark.Since) != since)
        {
            // A read on the same replica finished while this was resolved: keep it.
            Interlocked.CompareExchange(ref _replicaMark, mark, null);
        }
    }

    internal ulong SystemIdentifier => Volatile.Read(ref _systemIdentifier);

    /// <summary>
    /// Moves the token forward to <paramref name="lsn"/> on <paramref name="timeline"/> (never back). A position on a
    /// timeline the session has left is not comparable and is dropped. One on a newer timeline replaces the position:
    /// commands move the session first where the fork point is known (<see cref="MoveToTimeline"/>), so this is a session
    /// that stayed behind because it was not, and that has now read or written on the new timeline.
    /// </summary>
    /// <param name="systemIdentifier">The cluster's; 0 when not known.</param>
    /// <param name="timeline">The timeline of the host the position was read on; 0 when not known.</param>
    /// <param name="lsn">The position.</param>
    /// <param name="wrote">Whether the position covers a command of this session on the primary (not only a read).</param>
    internal void Advance(ulong systemIdentifier, int timeline, ulong lsn, bool wrote)
    {
        lock (_gate)
        {
            if (systemIdentifier != 0)
            {
                _unvalidatedToken = false; // Earned here from now on.
                Volatile.Write(ref _systemIdentifier, systemIdentifier);
            }

            if (timeline != 0 && _timeline != 0 && timeline != _timeline)
            {
                if (timeline < _timeline)
                {
                    return;
                }

                Volatile.Write(ref _lsn, lsn);
                Volatile.Write(ref _writeLsn, wrote ? lsn : 0);
                Volatile.Write(ref _timeline, timeline);
                return;
            }

            if (timeline != 0)
            {
                Volatile.Write(ref _timeline, timeline);
            }

            Internal.InterlockedMax.Raise(ref _lsn, lsn);
            if (wrote)
            {
                Internal.InterlockedMax.Raise(ref _writeLsn, lsn);
            }
        }
    }

    /// <summary>A command of this session on the primary of its timeline finished, but its position can no longer be captured there.</summary>
    internal void MarkWriteUnknown()
    {
        lock (_gate)
        {
            Volatile.Write(ref _writeLsn, UnknownWrite);
        }
    }

    /// <summary>
    /// Moves the session from timeline <paramref name="from"/> to <paramref name="to"/>, whose history left
    /// <paramref name="from"/> at <paramref name="forkPoint"/>: what survives of the position is at most the fork point.
    /// False when the session is no longer on <paramref name="from"/> (a concurrent command moved it).
    /// </summary>
    /// <param name="from">The session's timeline.</param>
    /// <param name="to">The newest primary's timeline.</param>
    /// <param name="forkPoint">Where <paramref name="to"/>'s history left <paramref name="from"/>.</param>
    /// <param name="before">The token before the move.</param>
    /// <param name="writeLsn">The session's write position before the move (past <paramref name="forkPoint"/>: writes were lost).</param>
    internal bool MoveToTimeline(int from, int to, ulong forkPoint, out ConsistencyToken before, out ulong writeLsn)
    {
        lock (_gate)
        {
            before = CurrentToken();
            writeLsn = _writeLsn;
            if (_timeline != from)
            {
                return false;
            }

            Volatile.Write(ref _lsn, Math.Min(_lsn, forkPoint));
            Volatile.Write(ref _writeLsn, Math.Min(_writeLsn, forkPoint));
            Volatile.Write(ref _timeline, to);
            return true;
        }
    }

    /// <summary>Keeps the report of lost writes and tells the <see cref="WritesLost"/> handlers.</summary>
    internal void ReportLostWrites(SessionWritesLostException report)
    {
        Volatile.Write(ref _lostWrites, report);
        WritesLost?.Invoke(this, report);
    }

    /// <summary>Gets a value indicating whether the position came from a resumed token not yet checked against the cluster.</summary>
    internal bool IsUnvalidatedToken => _unvalidatedToken;

    internal void MarkResumed() => _unvalidatedToken = true;

    internal void MarkValidated() => _unvalidatedToken = false;

    /// <summary>Forgets the token (an ignored invalid token).</summary>
    internal void Reset()
    {
        lock (_gate)
        {
            _unvalidatedToken = false;
            Volatile.Write(ref _lsn, 0);
            Volatile.Write(ref _writeLsn, 0);
            Volatile.Write(ref _timeline, 0);
            Volatile.Write(ref _systemIdentifier, 0);
        }
    }

    /// <summary>A replica this session read from and the latest acknowledgement of such a read (only ever raised).</summary>
    internal sealed class ReplicaMark(Topology.HostRuntime host, int epoch, long since)
    {
        public readonly Topology.HostRuntime Host = host;

        /// <summary>The host's <see cref="Topology.HostRuntime.Epoch"/> at the read: after a restart its positions say nothing about it.</summary>
        public readonly int Epoch = epoch;

#pragma warning disable CA1051 // Raised in place with Interlocked.
        public long Since = since;
#pragma warning restore CA1051
    }
}
