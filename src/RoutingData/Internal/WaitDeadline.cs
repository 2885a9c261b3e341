namespace RoutingData.Internal;

/// <summary>
/// One bound on a series of waits, counted from the first of them: every later wait gets what is left of the bound the
/// first one started with, so the series as a whole waits at most that long.
/// </summary>
internal struct WaitDeadline
{
    private long _startedAt;
    private TimeSpan _bound;

    /// <summary>Gets a value indicating whether the first wait has started the deadline.</summary>
    public readonly bool Started => _startedAt != 0;

    /// <summary>What is left to wait; the first call starts the deadline with <paramref name="bound"/>, later calls' bounds are ignored.</summary>
    public TimeSpan Left(TimeSpan bound, TimeProvider timeProvider)
    {
        if (_startedAt == 0)
        {
            (_startedAt, _bound) = (timeProvider.GetTimestamp(), bound > TimeSpan.Zero ? bound : TimeSpan.Zero);
            return _bound;
        }

        var left = _bound - timeProvider.GetElapsedTime(_startedAt);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>Whether the deadline has started and passed.</summary>
    public readonly bool Exhausted(TimeProvider timeProvider) => _startedAt != 0 && timeProvider.GetElapsedTime(_startedAt) >= _bound;
}
