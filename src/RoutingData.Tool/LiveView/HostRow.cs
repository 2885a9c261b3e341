namespace RoutingData.Tool.LiveView;

/// <summary>One host's line in the live view: what the monitor saw, whether it is fenced, and its traffic.</summary>
/// <param name="Status">What the topology monitor last saw of the host.</param>
/// <param name="Fenced">A primary on an older timeline than another primary: RoutingData sends it nothing.</param>
/// <param name="Traffic">The host's traffic over the recent window, in the unit of the view's traffic column; null while not known.</param>
/// <param name="Share">The host's part of all hosts' traffic (0 to 1); null while not known.</param>
internal sealed record HostRow(HostStatus Status, bool Fenced, double? Traffic, double? Share)
{
    /// <summary>Builds the rows of a snapshot, in the order of <paramref name="hosts"/>.</summary>
    /// <param name="hosts">From <see cref="ReplicatedDataSource.GetHosts"/>.</param>
    /// <param name="rates">Each host's traffic (by <see cref="HostStatus.Host"/>); hosts missing are unknown.</param>
    public static IReadOnlyList<HostRow> From(IReadOnlyList<HostStatus> hosts, IReadOnlyDictionary<string, double> rates)
    {
        var newestPrimary = hosts.Where(h => h.Role == HostRole.Primary && h.Health == HostHealth.Healthy).Select(h => h.Timeline).DefaultIfEmpty(0).Max();
        var total = hosts.Sum(h => rates.TryGetValue(h.Host, out var rate) ? rate : 0);
        return hosts.Select(h =>
        {
            double? rate = rates.TryGetValue(h.Host, out var r) ? r : null;
            double? share = rate is { } known && total > 0 ? known / total : rate is null ? null : 0;
            var fenced = h.Role == HostRole.Primary && h.Timeline < newestPrimary;
            return new HostRow(h, fenced, rate, share);
        }).ToList();
    }
}
