using Microsoft.Extensions.Logging;

namespace RoutingData.Topology.Sources;

/// <summary>
/// Polls every <see cref="ITopologySource"/> of a monitor, each in a loop of its own, keeps what each said last, and
/// turns a disagreement with the probes into <see cref="ClusterMonitor.ReportDoubt"/>: a source never changes a
/// snapshot, it only makes the monitor probe at once and at the failover cadence until a probe confirms a primary.
/// </summary>
internal sealed class TopologySourcePoller : IAsyncDisposable
{
    private readonly ClusterMonitor _monitor;
    private readonly TopologySourceRegistration[] _sources;
    private readonly HostRuntime[] _hosts;
    private readonly ReplicatedDbOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly TopologySourceReport?[] _reports;
    private readonly Verdict[] _verdicts;
    private Task[] _loops = [];
    private int _pollsCompleted;

    public TopologySourcePoller(ClusterMonitor monitor, IReadOnlyList<TopologySourceRegistration> sources, HostRuntime[] hosts, ReplicatedDbOptions options, TimeProvider timeProvider, ILogger logger)
    {
        _monitor = monitor;
        _sources = [.. sources];
        _hosts = hosts;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _reports = new TopologySourceReport?[_sources.Length];
        _verdicts = new Verdict[_sources.Length];
        for (var i = 0; i < _verdicts.Length; i++)
        {
            _verdicts[i] = new Verdict();
        }
    }

    /// <summary>What each source said last (sources that have not been polled yet are left out).</summary>
    public IReadOnlyList<TopologySourceReport> Reports
    {
        get
        {
            var reports = new List<TopologySourceReport>(_reports.Length);
            for (var i = 0; i < _reports.Length; i++)
            {
                if (Volatile.Read(ref _reports[i]) is { } report)
                {
                    reports.Add(report);
                }
            }

            return reports;
        }
    }

    /// <summary>
    /// How many polls have finished, logging and doubt included. A report becomes visible in <see cref="Reports"/> before
    /// its poll logs, so whoever waits for a poll to be over waits on this, not on the report.
    /// </summary>
    public int PollsCompleted => Volatile.Read(ref _pollsCompleted);

    /// <summary>Starts one polling loop per source, after the monitor's first probe round (before it there is nothing to compare with).</summary>
    public void Start(Task firstRound, CancellationToken stopping)
    {
        _loops = new Task[_sources.Length];
        for (var i = 0; i < _sources.Length; i++)
        {
            var index = i;
            _loops[i] = Task.Run(() => LoopAsync(index, firstRound, stopping), CancellationToken.None);
        }
    }

    /// <summary>Polls one source once: records its answer (or failure) and reports doubt if it disagrees with the probes.</summary>
    public async Task PollAsync(int index, CancellationToken cancellationToken)
    {
        try
        {
            await PollOnceAsync(index, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Increment(ref _pollsCompleted);
        }
    }

    private async Task PollOnceAsync(int index, CancellationToken cancellationToken)
    {
        var source = _sources[index].Source;
        var verdict = _verdicts[index];
        IReadOnlyList<TopologyMember> members;
        try
        {
            members = await source.GetMembersAsync(cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A source only hints: whatever it throws is logged and probing goes on without it.
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            verdict.Failures++;
            var previous = Volatile.Read(ref _reports[index]) ?? new TopologySourceReport(source.Name, [], DateTimeOffset.MinValue);
            Volatile.Write(ref _reports[index], previous with { Error = e.Message });

            // The first failure of a run is a warning; the rest of the run would repeat it every interval.
            _logger.TopologySourceFailed(verdict.Failures == 1 ? LogLevel.Warning : LogLevel.Debug, source.Name, verdict.Failures, e.Message);
            return;
        }

        var report = new TopologySourceReport(source.Name, members ?? [], _timeProvider.GetUtcNow());
        Volatile.Write(ref _reports[index], report);
        if (verdict.Failures > 0)
        {
            verdict.Failures = 0;
            verdict.Text = null; // Say what it says now, even if it is what it said before the failures.
        }

        Judge(report, verdict);
    }

    public async ValueTask DisposeAsync()
    {
        // The loops end with the monitor's stopping token.
        await Task.WhenAll(_loops).ConfigureAwait(false);
        foreach (var (source, owned) in _sources)
        {
            if (owned && source is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
    }

    private void Judge(TopologySourceReport report, Verdict verdict)
    {
        var snapshot = _monitor.Snapshot;
        var primary = snapshot.Primary?.Host;
        var leaders = report.Leaders;
        var leader = leaders.Count == 1 ? Array.Find(_hosts, h => TopologySourceReport.Matches(leaders[0], h.Endpoint)) : null;
        var text = report.DescribeLeader();
        var primaryDown = primary is not null && report.Find(primary.Endpoint) is { IsRunning: false };
        if (primaryDown)
        {
            text += $", and {primary!.Endpoint.Name} is {report.Find(primary.Endpoint)!.State ?? "not running"}";
        }

        var agrees = leader is not null && leader == primary && !primaryDown;
        var now = _timeProvider.GetTimestamp();
        var changed = !string.Equals(text, verdict.Text, StringComparison.Ordinal);
        if (changed)
        {
            verdict.Text = text;
            verdict.Since = now;
            _logger.TopologySourceReported(report.Source, text, agrees ? "the probes agree" : $"the probes see {(primary is null ? "no primary" : primary.Endpoint.Name + " as the primary")}: probing every host now");
            if (leaders.Count == 1 && leader is null)
            {
                _logger.TopologySourceLeaderUnknown(report.Source, $"{leaders[0].Host}:{leaders[0].Port}", string.Join(", ", _hosts.Select(h => h.Endpoint.Name)));
            }
        }

        if (agrees)
        {
            return;
        }

        // Once per change of what the source says; and while it names a configured host the probes do not see as the
        // primary yet (Patroni takes the leader key before the promotion ends), again at each poll within one failover
        // window, whenever the monitor has gone back to its regular cadence meanwhile.
        var pending = leader is not null
            && now - verdict.Since < (long)(_options.FailoverProbingWindow.TotalSeconds * _timeProvider.TimestampFrequency)
            && !_monitor.IsProbingFast;
        if (changed || pending)
        {
            _monitor.ReportDoubt();
        }
    }

    private async Task LoopAsync(int index, Task firstRound, CancellationToken stopping)
    {
        try
        {
            await firstRound.WaitAsync(stopping).ConfigureAwait(false);
            while (true)
            {
                await PollAsync(index, stopping).ConfigureAwait(false);
                await Task.Delay(_options.TopologySourcePollInterval, _timeProvider, stopping).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (stopping.IsCancellationRequested || e is ObjectDisposedException)
        {
            // The data source is being disposed.
        }
    }

    /// <summary>What one source said last, as the log showed it; touched only by that source's loop.</summary>
    private sealed class Verdict
    {
        public string? Text { get; set; }

        public long Since { get; set; }

        public int Failures { get; set; }
    }
}
