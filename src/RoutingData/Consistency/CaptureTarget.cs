using RoutingData.Topology;

namespace RoutingData.Consistency;

/// <summary>
/// Where a command's WAL position goes: the session's token and, for a replica, the host's known position. With a
/// <paramref name="background"/> capture (<see cref="LsnCaptureMode.Background"/>) nothing rides in the round trip: the command's
/// completion is marked on the session and the clock captures the position afterwards.
/// </summary>
internal readonly struct CaptureTarget(ConsistencySession? session, ulong systemIdentifier, HostRuntime? host, HostRole role, ulong requiredReplayLsn = 0, HostState? primary = null, bool isWrite = true, bool capturesReads = true, PrimaryPositionClock? clock = null, bool background = false, long pendingBefore = 0)
{
    // A read on the primary captures in its own round trip even in background mode: otherwise a session reading the
    // primary in a tight loop would mark itself pending on every read and could stay on the primary for as long as it
    // keeps reading. It captures even without monotonic reads, because what reaches the primary may write where the
    // text does not show it (a view over a VOLATILE function, an operator): the capture says whether it did.
    private readonly bool _readOnPrimary = role == HostRole.Primary && !isWrite;

    /// <summary>Whether a trailing capture statement is appended (writes always; reads for monotonic reads).</summary>
    public bool CapturesPosition => session is not null && (_readOnPrimary || (!background && (isWrite || capturesReads)));

    /// <summary>Whether the command's completion is marked on the session for a background capture (see <see cref="Complete"/>).</summary>
    public bool MarksCompletion => session is not null && background && clock is not null && (isWrite || capturesReads) && !_readOnPrimary;

    /// <summary>Whether the capture must run after a commit (an error barrier): only for what is known to write.</summary>
    public bool NeedsBarrier => isWrite;

    /// <summary>Whether the session's position is unknown until the command's reader closes (see <see cref="ConsistencySession.BeginPrimaryCommand"/>).</summary>
    public bool HoldsSessionWhileOpen => session is not null && role == HostRole.Primary && (CapturesPosition || MarksCompletion);

    /// <summary>The session whose position this command moves; null when none (no sessions, or inside a transaction).</summary>
    public ConsistencySession? Session => session;

    /// <summary>When not 0: a freshness check leads the batch, and the read only counts if the replica has replayed this far.</summary>
    public ulong RequiredReplayLsn => requiredReplayLsn;

    /// <summary>Whether a capture statement is appended at all (no session, or inside a transaction: no).</summary>
    public bool IsActive => session is not null;

    public string Sql => role != HostRole.Primary ? LsnCapture.ReplicaSql : _readOnPrimary ? LsnCapture.PrimaryReadSql : LsnCapture.PrimarySql;

    public HostRole Role => role;

    /// <summary>
    /// <c>pg_current_wal_insert_lsn()</c> right after a record that ended exactly on a WAL page boundary points past
    /// the next page's header, while a replica that replayed that record reports the boundary itself. Both mean the
    /// same WAL: report the boundary, or the replica would look a header short until more WAL arrives.
    /// </summary>
    internal static ulong WithoutPageHeader(ulong lsn, int blockSize, long segmentSize)
    {
        const ulong ShortHeader = 24, LongHeader = 40; // XLogPageHeaderData, XLogLongPageHeaderData (aligned)
        if (blockSize <= 0 || segmentSize <= 0)
        {
            return lsn;
        }

        if (lsn % (ulong)segmentSize == LongHeader)
        {
            return lsn - LongHeader;
        }

        return lsn % (ulong)blockSize == ShortHeader ? lsn - ShortHeader : lsn;
    }

    /// <summary>Reads the leading freshness check; throws <see cref="StaleReplicaException"/> if the replica is behind.</summary>
    public void Check(ulong replayed)
    {
        host?.AdvanceKnownLsn(replayed);
        if (replayed < requiredReplayLsn)
        {
            throw new StaleReplicaException(replayed);
        }
    }

    /// <summary>Reads the capture result the reader is on and applies it.</summary>
    public void ApplyCapture(Npgsql.NpgsqlDataReader reader)
    {
        if (reader.IsDBNull(0))
        {
            return;
        }

        var lsn = (ulong)reader.GetFieldValue<NpgsqlTypes.NpgsqlLogSequenceNumber>(0);
        if (reader.FieldCount > 1 && !reader.IsDBNull(1) && reader.GetBoolean(1))
        {
            // A "read" that wrote: this position is from before its commit. The session waits for a capture after it.
            host?.AdvanceKnownLsn(lsn);
            Failed();
            return;
        }

        if (_readOnPrimary && !capturesReads && pendingBefore == 0)
        {
            // Without monotonic reads only writes move the session (a pending one is covered: this ran after it).
            host?.AdvanceKnownLsn(lsn);
            return;
        }

        Apply(lsn);
    }

    public void Apply(ulong lsn)
    {
        if (role == HostRole.Primary && primary is not null)
        {
            lsn = WithoutPageHeader(lsn, primary.WalBlockSize, primary.WalSegmentSize);
        }

        // On the primary the position covers the session's own commands (a write, or what was pending before this read);
        // its timeline is the one the host was last probed on, the timeline the command ran on.
        session?.Advance(systemIdentifier, host?.Timeline ?? 0, lsn, wrote: role == HostRole.Primary && (isWrite || pendingBefore != 0));
        if (role == HostRole.Primary && session is not null)
        {
            // Taken after everything this session had finished when the command was sent: that is no longer pending
            // (a later mark — a concurrent command of the same session — stays).
            session.ClearPrimary(pendingBefore);
        }

        host?.AdvanceKnownLsn(lsn);
    }

    /// <summary>
    /// Marks the command as finished now (all its results read, its implicit transaction committed): on the primary the
    /// session waits for a capture that starts later; on a replica it remembers the host for monotonic reads.
    /// </summary>
    public void Complete()
    {
        if (!MarksCompletion)
        {
            return;
        }

        var now = clock!.Now();
        if (role == HostRole.Primary)
        {
            session!.MarkPrimary(now, host?.Timeline ?? 0);
            clock.Demand(now);
        }
        else if (capturesReads && host is not null)
        {
            session!.MarkReplicaRead(host, now, clock);
        }
    }

    /// <summary>The command failed on the primary: it may still have committed, so its session waits for a capture.</summary>
    public void Failed()
    {
        if (session is null || role != HostRole.Primary)
        {
            return;
        }

        if (clock is null)
        {
            // Only the next same-round-trip capture on the primary clears this.
            session.MarkPrimary(long.MaxValue, host?.Timeline ?? 0);
            return;
        }

        var now = clock.Now();
        session.MarkPrimary(now, host?.Timeline ?? 0);
        clock.Demand(now);
    }
}
