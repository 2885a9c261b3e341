namespace RoutingData.Tool.LiveView;

/// <summary>
/// Turns cumulative per-host counters (commands routed, transactions) into rates over a sliding window, so the
/// view shows what each host serves now rather than since the start.
/// </summary>
/// <param name="window">How far back the rates reach.</param>
/// <param name="timeProvider">The clock of the samples.</param>
internal sealed class TrafficWindow(TimeSpan window, TimeProvider timeProvider)
{
    private readonly Queue<(long At, IReadOnlyDictionary<string, double> Counters)> _samples = new();

    /// <summary>Gets how far back the rates reach.</summary>
    public TimeSpan Length => window;

    /// <summary>Records the counters read now.</summary>
    /// <param name="counters">Each host's cumulative count; a host that did not answer is left out.</param>
    public void Add(IReadOnlyDictionary<string, double> counters)
    {
        var now = timeProvider.GetTimestamp();
        _samples.Enqueue((now, counters));

        // Keep one sample at or beyond the window's start, so the rates always cover the whole window.
        while (_samples.Count > 2 && timeProvider.GetElapsedTime(_samples.ElementAt(1).At, now) >= window)
        {
            _samples.Dequeue();
        }
    }

    /// <summary>
    /// Each host's rate per second between the oldest and newest sample; hosts missing from either are left out. A
    /// counter that went back counts as 0.
    /// </summary>
    public IReadOnlyDictionary<string, double> Rates()
    {
        var rates = new Dictionary<string, double>(StringComparer.Ordinal);
        if (_samples.Count < 2)
        {
            return rates;
        }

        var (firstAt, first) = _samples.Peek();
        var (lastAt, last) = _samples.Last();
        var seconds = timeProvider.GetElapsedTime(firstAt, lastAt).TotalSeconds;
        foreach (var (host, count) in last)
        {
            if (seconds > 0 && first.TryGetValue(host, out var before))
            {
                rates[host] = Math.Max(0, count - before) / seconds;
            }
        }

        return rates;
    }
}
