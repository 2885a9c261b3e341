using NpgsqlTypes;

namespace RoutingData;

/// <summary>
/// What one logical user of the database has written and read, as a <see cref="ConsistencyToken"/>. A read is
/// served by a replica only if that replica has replayed past the token (read-your-writes), and after every read
/// the token advances to what that read saw (monotonic reads). Thread-safe; carry it across requests and
/// processes with <see cref="ReplicatedDataSource.ExportSession"/> and <see cref="ReplicatedDataSource.ResumeSession"/>.
/// </summary>
public sealed class ConsistencySession
{
    private ulong _systemIdentifier;
    private ulong _lsn;
    private long _primaryPendingSince;
    private int _primaryInFlight;
    private volatile bool _unvalidatedToken;
    private ReplicaMark? _replicaMark;

    /// <summary>Gets the session's token, or null before its first command.</summary>
    public ConsistencyToken? Token
    {
        get
        {
            var lsn = Volatile.Read(ref _lsn);
            return lsn == 0 ? null : new ConsistencyToken(Volatile.Read(ref _systemIdentifier), new NpgsqlLogSequenceNumber(lsn));
        }
    }

    /// <summary>Gets or sets this session's policy when no replica has caught up; null defers to the data source.</summary>
    public StaleReadPolicy? StaleReadPolicy { get; set; }

    internal ulong Lsn => Volatile.Read(ref _lsn);

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
    internal void MarkPrimary(long acknowledgedAt) => Internal.InterlockedMax.Raise(ref _primaryPendingSince, acknowledgedAt);

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
            Advance(0, previous.Host.KnownLsn); // Already covered by a later reading of that replica.
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

    /// <summary>Moves the token forward to <paramref name="lsn"/> (never back).</summary>
    internal void Advance(ulong systemIdentifier, ulong lsn)
    {
        if (systemIdentifier != 0 && _unvalidatedToken)
        {
            _unvalidatedToken = false; // Earned here from now on.
        }

        if (systemIdentifier != 0)
        {
            Volatile.Write(ref _systemIdentifier, systemIdentifier);
        }

        Internal.InterlockedMax.Raise(ref _lsn, lsn);
    }

    /// <summary>Gets a value indicating whether the position came from a resumed token not yet checked against the cluster.</summary>
    internal bool IsUnvalidatedToken => _unvalidatedToken;

    internal void MarkResumed() => _unvalidatedToken = true;

    internal void MarkValidated() => _unvalidatedToken = false;

    /// <summary>Forgets the token (an ignored invalid token).</summary>
    internal void Reset()
    {
        _unvalidatedToken = false;
        Volatile.Write(ref _lsn, 0);
        Volatile.Write(ref _systemIdentifier, 0);
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
