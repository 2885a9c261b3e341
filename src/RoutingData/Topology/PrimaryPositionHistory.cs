namespace RoutingData.Topology;

/// <summary>
/// Where the primary's WAL was, and when (one sample per probe, spaced so the ring covers well past the lag bound).
/// A replica's lag is then measured against the primary: a replica that has replayed up to <c>R</c> lacks every write
/// made since the primary passed <c>R</c>. Unlike <c>pg_last_xact_replay_timestamp()</c>, this cannot stall silently —
/// a WAL stream that stops while the connection stays up, or a standby restarted far behind, shows as the primary
/// moving on without it — and it reads 0 when the primary is idle. Used by the monitor only, under its round lock.
/// </summary>
internal sealed class PrimaryPositionHistory
{
    private const int Capacity = 256;

    private readonly long[] _times = new long[Capacity];
    private readonly ulong[] _lsns = new ulong[Capacity];
    private readonly long _spacing;
    private readonly long _frequency;
    private int _start;
    private int _count;
    private int _hostIndex = -1;
    private int _timeline;

    /// <param name="spacing">The least time between kept samples (the newest is always replaced by a newer one).</param>
    /// <param name="timestampFrequency">Ticks per second of the timestamps (<see cref="TimeProvider.TimestampFrequency"/>).</param>
    public PrimaryPositionHistory(TimeSpan spacing, long timestampFrequency)
    {
        _frequency = timestampFrequency;
        _spacing = (long)(spacing.TotalSeconds * timestampFrequency);
    }

    public int Count => _count;

    /// <summary>The time the oldest sample covers back to, as a span before <paramref name="now"/>; zero when empty.</summary>
    public TimeSpan Coverage(long now) => _count == 0 ? TimeSpan.Zero : ToSpan(now - _times[_start]);

    /// <summary>
    /// Adds a sample: the primary (<paramref name="hostIndex"/> on <paramref name="timeline"/>) was at least at
    /// <paramref name="lsn"/> at <paramref name="at"/>. Another primary or timeline starts over: positions of different
    /// primaries are not one line.
    /// </summary>
    public void Add(int hostIndex, int timeline, long at, ulong lsn)
    {
        if (hostIndex != _hostIndex || timeline != _timeline)
        {
            (_start, _count, _hostIndex, _timeline) = (0, 0, hostIndex, timeline);
        }

        if (_count > 0)
        {
            var newest = (_start + _count - 1) % Capacity;
            if (at <= _times[newest] || lsn < _lsns[newest])
            {
                return; // The same probe again, or out of order.
            }

            // Keep samples at least a spacing apart; the newest is replaced until the spacing has passed.
            var beforeNewest = _count > 1 ? _times[(newest + Capacity - 1) % Capacity] : long.MinValue;
            if (_count > 1 && at - beforeNewest < _spacing)
            {
                (_times[newest], _lsns[newest]) = (at, lsn);
                return;
            }
        }

        if (_count == Capacity)
        {
            _start = (_start + 1) % Capacity;
            _count--;
        }

        var slot = (_start + _count) % Capacity;
        (_times[slot], _lsns[slot]) = (at, lsn);
        _count++;
    }

    /// <summary>
    /// How stale a replica that had replayed <paramref name="replayed"/> at <paramref name="at"/> was: the time since the
    /// primary passed that position (interpolated between the two samples around it), 0 if it had the newest sample.
    /// </summary>
    /// <returns>
    /// <see cref="LagEstimate.Unknown"/> with no sample; a lower bound when the position is older than every sample
    /// (a replica restarted far behind: the history does not reach back to it).
    /// </returns>
    public LagEstimate Estimate(ulong replayed, long at)
    {
        if (_count == 0)
        {
            return LagEstimate.Unknown;
        }

        var newest = (_start + _count - 1) % Capacity;
        if (replayed >= _lsns[newest])
        {
            return new LagEstimate(TimeSpan.Zero, IsLowerBound: false);
        }

        if (replayed < _lsns[_start])
        {
            return new LagEstimate(ToSpan(at - _times[_start]), IsLowerBound: true);
        }

        // The last sample at or below the position; the next one is above it.
        var i = _count - 2;
        while (i > 0 && _lsns[(_start + i) % Capacity] > replayed)
        {
            i--;
        }

        var (t0, p0) = (_times[(_start + i) % Capacity], _lsns[(_start + i) % Capacity]);
        var (t1, p1) = (_times[(_start + i + 1) % Capacity], _lsns[(_start + i + 1) % Capacity]);
        var passedAt = p1 == p0 ? t1 : t0 + (long)((t1 - t0) * ((double)(replayed - p0) / (p1 - p0)));
        return new LagEstimate(ToSpan(Math.Max(0, at - passedAt)), IsLowerBound: false);
    }

    private TimeSpan ToSpan(long ticks) => TimeSpan.FromSeconds((double)Math.Max(0, ticks) / _frequency);
}

/// <summary>A replica's lag behind the primary in time.</summary>
/// <param name="Lag">The estimate; meaningless when <see cref="IsKnown"/> is false.</param>
/// <param name="IsLowerBound">The replica is at least this far behind (its position is older than anything recorded).</param>
internal readonly record struct LagEstimate(TimeSpan Lag, bool IsLowerBound)
{
    public static LagEstimate Unknown => new(TimeSpan.MaxValue, IsLowerBound: true);

    public bool IsKnown => Lag != TimeSpan.MaxValue;
}
