using System.Globalization;
using System.Text;
using RoutingData.Topology.Sources;

namespace RoutingData.Topology;

/// <summary>
/// The cluster as the last probe round saw it, with the routing-relevant sets precomputed. Immutable and
/// swapped atomically by the monitor, so the hot path reads it without a lock.
/// </summary>
internal sealed class ClusterSnapshot
{
    private ClusterSnapshot(HostState[] hosts, HostState? primary, HostState[] eligibleReplicas, HostState[] laggingReplicas, long[] lagBytes, TimeSpan?[] lags, Exception? fault, ulong systemIdentifier, int newestPrimaryTimeline, TimelineHistory? timelines, IReadOnlyList<TopologySourceReport>? sourceReports)
    {
        SourceReports = sourceReports ?? [];
        NewestPrimaryTimeline = newestPrimaryTimeline;
        Timelines = timelines;
        Lags = lags;
        SystemIdentifier = systemIdentifier;
        Hosts = hosts;
        Primary = primary;
        EligibleReplicas = eligibleReplicas;
        LaggingReplicas = laggingReplicas;
        LagBytes = lagBytes;
        Fault = fault;
    }

    /// <summary>Every host, by <see cref="HostRuntime.Index"/>.</summary>
    public HostState[] Hosts { get; }

    /// <summary>The one writable host of the newest timeline; null if none (or a tie).</summary>
    public HostState? Primary { get; }

    /// <summary>Healthy standbys of the same cluster within the lag bound: the hosts reads may use.</summary>
    public HostState[] EligibleReplicas { get; }

    /// <summary>Healthy standbys excluded by the lag bound.</summary>
    public HostState[] LaggingReplicas { get; }

    /// <summary>WAL bytes each host is behind the primary (0 for the primary and when unknown), by index.</summary>
    public long[] LagBytes { get; }

    /// <summary>The newest timeline any primary has been seen on (this snapshot's primary, or an earlier one).</summary>
    public int NewestPrimaryTimeline { get; }

    /// <summary>What each topology source said last when this snapshot was made (diagnostics only: nothing routes on it).</summary>
    public IReadOnlyList<TopologySourceReport> SourceReports { get; }

    /// <summary>What the topology sources say of <paramref name="endpoint"/>; null without sources.</summary>
    public string? DescribeSources(HostEndpoint endpoint) =>
        SourceReports.Count == 0 ? null : string.Join("; ", SourceReports.Select(r => r.DescribeHost(endpoint)));

    /// <summary>
    /// The history of <see cref="NewestPrimaryTimeline"/> as its primary's history file says (kept while that primary
    /// misses probes); null while it has not been read.
    /// </summary>
    public TimelineHistory? Timelines { get; }

    /// <summary>
    /// The LSN where the newest primary's history left <paramref name="timeline"/>: a position on that timeline up to it is
    /// on the newest timeline too, one past it was lost. Null when not known (the history could not be read, is not read
    /// yet, or <paramref name="timeline"/> is not an ancestor).
    /// </summary>
    public ulong? ForkPoint(int timeline) => Timelines?.ForkPoint(timeline);

    /// <summary>
    /// Why <paramref name="host"/>, where something began as on the primary, must get nothing more: another host is the
    /// primary now, it is in recovery (demoted), or it is on an older timeline than a primary seen since (fenced). Null
    /// while nothing says so (a primary that merely missed a probe keeps its transactions).
    /// </summary>
    public string? WhyNotPrimary(HostRuntime host)
    {
        var state = Hosts[host.Index];
        if (Primary is { } primary && primary.Host != host)
        {
            return $"{primary.Host.Endpoint.Name} is the primary now (timeline {primary.Timeline})";
        }

        if (state.IsHealthy && state.IsInRecovery)
        {
            return $"{host.Endpoint.Name} is in recovery now (demoted)";
        }

        return state.Timeline != 0 && state.Timeline < NewestPrimaryTimeline
            ? $"{host.Endpoint.Name} is on timeline {state.Timeline}, behind a primary seen on timeline {NewestPrimaryTimeline} (fenced)"
            : null;
    }

    /// <summary>How far behind the primary each replica is in time, by index; null on the primary and when not known.</summary>
    public TimeSpan?[] Lags { get; }

    /// <summary>A problem that forbids routing at all, e.g. hosts from two different clusters.</summary>
    public Exception? Fault { get; }

    /// <summary>The cluster's <c>system_identifier</c>; 0 until a host has answered (or when hosts disagree).</summary>
    public ulong SystemIdentifier { get; }

    /// <param name="hosts">Every host's latest state.</param>
    /// <param name="options">The lag bounds.</param>
    /// <param name="fencedBelowTimeline">The newest primary timeline seen so far: a claimant on an older timeline is a
    /// stale split-brain primary and is never written to, even while the newer primary misses a probe.</param>
    /// <param name="history">The primary's past positions: this round's primary sample is added, and replica lag is measured
    /// against it. Null: only the standbys' own replay timestamps are used.</param>
    /// <param name="timelines">The history of the newest primary timeline, if read; ignored when it is another timeline's.</param>
    /// <param name="sourceReports">What the topology sources said last, for <see cref="Describe"/>.</param>
    /// <param name="previous">The snapshot this one replaces: a replica it had out for lag comes back only below
    /// <see cref="ReplicatedDbOptions.LagReadmitFraction"/> of the bound (hysteresis).</param>
    public static ClusterSnapshot Create(HostState[] hosts, ReplicatedDbOptions options, int fencedBelowTimeline = 0, PrimaryPositionHistory? history = null, TimelineHistory? timelines = null, IReadOnlyList<TopologySourceReport>? sourceReports = null, ClusterSnapshot? previous = null)
    {
        Exception? fault = null;

        // Hosts from different clusters: refuse to route rather than mix two databases.
        long? systemId = null;
        var mismatch = false;
        foreach (var host in hosts)
        {
            if (host.IsHealthy && host.SystemIdentifier is { } id)
            {
                mismatch |= systemId is not null && systemId != id;
                systemId ??= id;
            }
        }

        if (mismatch)
        {
            var detail = string.Join(", ", hosts.Where(h => h.IsHealthy).Select(h => string.Create(CultureInfo.InvariantCulture, $"{h.Host.Endpoint.Name} has system_identifier {h.SystemIdentifier}")));
            fault = new ClusterMismatchException($"The configured hosts belong to different PostgreSQL clusters: {detail}. RoutingData routes only within one replication cluster; fix the host list.");
        }

        var primary = ChoosePrimary(hosts, fencedBelowTimeline);
        if (primary is not null && history is not null && !mismatch)
        {
            // A position just past a page header is the same WAL as the boundary a caught-up standby reports.
            var position = Consistency.CaptureTarget.WithoutPageHeader((ulong)primary.Lsn, primary.WalBlockSize, primary.WalSegmentSize);
            history.Add(primary.Host.Index, primary.Timeline, primary.ProbeSentAt, position);
        }

        var lagBytes = new long[hosts.Length];
        var lags = new TimeSpan?[hosts.Length];
        var eligible = new List<HostState>();
        var lagging = new List<HostState>();
        foreach (var host in hosts)
        {
            if (!host.IsHealthy || !host.IsInRecovery || mismatch)
            {
                continue;
            }

            // A standby on another timeline than the primary's cannot be compared with its positions (LSNs of diverged
            // timelines are not comparable): an older one lacks the primary's newer writes — also while that primary
            // misses a probe (it follows a fenced primary then, the fork of a split brain) — and a newer one follows a
            // primary not seen yet. No reads until it follows the newest primary.
            var newestTimeline = Math.Max(primary?.Timeline ?? 0, fencedBelowTimeline);
            if (host.Timeline != 0 && newestTimeline != 0 && host.Timeline != newestTimeline)
            {
                lagging.Add(host);
                continue;
            }

            var behind = primary is null || (ulong)host.Lsn >= (ulong)primary.Lsn ? 0 : (long)((ulong)primary.Lsn - (ulong)host.Lsn);
            lagBytes[host.Host.Index] = behind;

            // Hysteresis: a replica that was out (for lag, or on another timeline) comes back only well within the bound.
            var fraction = previous is not null && previous.IsLagging(host.Host) ? options.LagReadmitFraction : 1.0;
            var tooFarBytes = options.MaxReplicaLagBytes is { } maxBytes && behind > maxBytes * fraction;
            var (lag, known) = TimeLag(host, history);
            lags[host.Host.Index] = lag == TimeSpan.MaxValue ? null : lag;

            // Unknown lag is not zero lag: a standby whose position is older than anything the history remembers (restarted
            // far behind) or that no primary sample vouches for yet takes no reads under a time bound.
            var tooFarTime = options.MaxReplicaLag is { } maxLag && (!known || lag > maxLag * fraction);
            (tooFarBytes || tooFarTime ? lagging : eligible).Add(host);
        }

        var newest = Math.Max(primary?.Timeline ?? 0, fencedBelowTimeline);
        return new ClusterSnapshot(hosts, primary, [.. eligible], [.. lagging], lagBytes, lags, fault, mismatch ? 0 : (ulong)(systemId ?? 0), newest, timelines?.Timeline == newest ? timelines : null, sourceReports);
    }

    /// <summary>
    /// The one writable host of the newest timeline: of several claimants the newest timeline wins, one older than
    /// <paramref name="fencedBelowTimeline"/> never does, and a tie leaves no primary (never write to two).
    /// </summary>
    public static HostState? ChoosePrimary(HostState[] hosts, int fencedBelowTimeline)
    {
        HostState? primary = null;
        var tie = false;
        foreach (var host in hosts)
        {
            if (!host.IsHealthy || host.IsInRecovery || host.Timeline < fencedBelowTimeline)
            {
                continue;
            }

            if (primary is null || host.Timeline > primary.Timeline)
            {
                primary = host;
                tie = false;
            }
            else if (host.Timeline == primary.Timeline)
            {
                tie = true;
            }
        }

        return tie ? null : primary;
    }

    /// <summary>
    /// A replica's lag in time: measured against the primary's past positions when there are any (it cannot stall
    /// silently), else the standby's own replay timestamp (no primary reachable: the best there is; null counts as 0).
    /// </summary>
    private static (TimeSpan Lag, bool Known) TimeLag(HostState host, PrimaryPositionHistory? history)
    {
        if (history is not null && history.Count > 0)
        {
            var estimate = history.Estimate((ulong)host.Lsn, host.ProbeAnsweredAt);
            if (!estimate.IsLowerBound)
            {
                return (estimate.Lag, true);
            }

            // Older than every sample: at least that far behind, maybe much more (a standby restarted far behind).
            return (estimate.Lag, false);
        }

        return (host.ReplayDelay ?? TimeSpan.Zero, true);
    }

    /// <summary>Whether <paramref name="host"/> is a healthy replica kept from reads by its lag or timeline.</summary>
    public bool IsLagging(HostRuntime host)
    {
        foreach (var lagging in LaggingReplicas)
        {
            if (lagging.Host == host)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One line per host, for exception messages: role, health, lag and the last error; then what each topology source says.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        foreach (var host in Hosts)
        {
            if (text.Length > 0)
            {
                text.Append("; ");
            }

            text.Append(host.Host.Endpoint.Name).Append(": ");
            if (!host.IsHealthy)
            {
                text.Append(host.Health == HostHealth.Unknown ? "not probed yet" : "unhealthy (" + host.LastError + ")");
                continue;
            }

            text.Append(host.IsInRecovery ? "replica" : "primary")
                .Append(CultureInfo.InvariantCulture, $", timeline {host.Timeline}");
            if (host.IsInRecovery)
            {
                text.Append(CultureInfo.InvariantCulture, $", {LagBytes[host.Host.Index]} bytes behind");
                if (Array.IndexOf(LaggingReplicas, host) >= 0)
                {
                    text.Append(" (past the lag bound)");
                }
            }
        }

        foreach (var report in SourceReports)
        {
            text.Append("; ").Append(report.Describe());
        }

        return text.ToString();
    }
}
