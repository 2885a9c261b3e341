namespace RoutingData.Internal;

/// <summary>
/// The pause of a command waiting in a failover's gap before it routes again after a host refused its connection: the
/// failover cadence at first, doubling up to the regular probe interval. A refusing host whose probe still answers (over
/// a connection opened earlier) is routable again after the next round; without the pause a waiting command would
/// reconnect to it at every round, and rounds follow each other closely while anyone waits.
/// </summary>
internal struct RefusalPause(TimeSpan first, TimeSpan max)
{
    private TimeSpan _next = first;

    /// <summary>
    /// The earliest start (a <see cref="TimeProvider"/> timestamp) of the probe round the next routing may wait for;
    /// each call doubles the pause for the next refusal.
    /// </summary>
    public long NextRoundAfter(TimeProvider timeProvider)
    {
        var after = timeProvider.GetTimestamp() + (long)(_next.TotalSeconds * timeProvider.TimestampFrequency);
        var doubled = _next + _next;
        _next = doubled < max ? doubled : max;
        return after;
    }
}
