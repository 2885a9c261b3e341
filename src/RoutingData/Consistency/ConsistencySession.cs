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
    private bool _uncertain;

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

    /// <summary>A write may have committed without its position being captured: read from the primary until the next primary capture.</summary>
    internal bool IsUncertain => Volatile.Read(ref _uncertain);

    internal void MarkUncertain() => Volatile.Write(ref _uncertain, true);

    internal void ClearUncertain() => Volatile.Write(ref _uncertain, false);

    internal ulong SystemIdentifier => Volatile.Read(ref _systemIdentifier);

    /// <summary>Moves the token forward to <paramref name="lsn"/> (never back).</summary>
    internal void Advance(ulong systemIdentifier, ulong lsn)
    {
        if (systemIdentifier != 0)
        {
            Volatile.Write(ref _systemIdentifier, systemIdentifier);
        }

        Internal.InterlockedMax.Raise(ref _lsn, lsn);
    }

    /// <summary>Forgets the token (an ignored invalid token).</summary>
    internal void Reset()
    {
        Volatile.Write(ref _lsn, 0);
        Volatile.Write(ref _systemIdentifier, 0);
    }
}
