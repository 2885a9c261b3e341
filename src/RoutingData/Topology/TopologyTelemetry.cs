using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RoutingData.Diagnostics;

namespace RoutingData.Topology;

/// <summary>
/// What the monitor's published snapshots say happened, as logs, metrics and spans: a failover (the primary lost, or
/// changed, until the next one is confirmed) as one <c>routingdata.failover</c> span with an event per phase, fenced
/// stale primaries, role changes, and replicas leaving or rejoining the read set. Runs on the monitor's loop, one
/// publish at a time, so it keeps its state without locks.
/// </summary>
internal sealed class TopologyTelemetry(int hostCount, TimeProvider timeProvider, ILogger logger)
{
    private readonly bool[] _fenced = new bool[hostCount];
    private readonly bool[] _excluded = new bool[hostCount];
    private bool _failingOver;
    private long _failoverStartedAt;
    private HostState? _oldPrimary;
    private HostState? _candidate;
    private Activity? _failover;

    /// <summary>A snapshot was published.</summary>
    /// <param name="previous">The snapshot it replaced.</param>
    /// <param name="snapshot">The new snapshot.</param>
    /// <param name="confirmed">Whether its primary is confirmed: found by a round that started after the last doubt.</param>
    /// <param name="fastProbeInterval">The failover cadence, for the fast-probing phase.</param>
    public void OnPublished(ClusterSnapshot previous, ClusterSnapshot snapshot, bool confirmed, TimeSpan fastProbeInterval)
    {
        TrackRoles(previous, snapshot);
        TrackFailover(previous, snapshot, confirmed, fastProbeInterval);
        TrackFences(snapshot);
        TrackLagExclusion(snapshot);
    }

    /// <summary>The monitor stops: a failover still open ends unfinished (not counted).</summary>
    public void Stop()
    {
        if (_failover is { } activity)
        {
            activity.SetTag(TelemetryTags.FailoverOutcome, "unfinished");
            activity.Stop();
            _failover = null;
        }
    }

    private static void TrackRoles(ClusterSnapshot previous, ClusterSnapshot snapshot)
    {
        for (var i = 0; i < snapshot.Hosts.Length && i < previous.Hosts.Length; i++)
        {
            var (before, now) = (previous.Hosts[i], snapshot.Hosts[i]);
            if (before.SystemIdentifier is not null && now.IsHealthy && before.IsInRecovery != now.IsInRecovery)
            {
                RoutingDiagnostics.RecordRoleChange(now.Host.Endpoint, now.IsInRecovery ? HostRole.Replica : HostRole.Primary);
            }
        }
    }

    private void TrackFailover(ClusterSnapshot previous, ClusterSnapshot snapshot, bool confirmed, TimeSpan fastProbeInterval)
    {
        if (!_failingOver && previous.Primary is { } lost && snapshot.Primary?.Host != lost.Host)
        {
            // Lost (no primary now), or changed within one round (a switchover between two probes).
            _failingOver = true;
            _failoverStartedAt = timeProvider.GetTimestamp();
            _oldPrimary = lost;
            _candidate = null;
            logger.FailoverStarted(lost.Host.Endpoint.Name, lost.Timeline);
            _failover = StartRoot(RoutingDiagnostics.FailoverActivityName);
            if (_failover is { IsAllDataRequested: true } activity)
            {
                activity.SetTag("routingdata.failover.old_primary", lost.Host.Endpoint.Name);
                activity.SetTag("routingdata.failover.old_timeline", lost.Timeline);
                activity.AddEvent(new ActivityEvent("primary_lost", tags: new ActivityTagsCollection
                {
                    [TelemetryTags.ServerAddress] = lost.Host.Endpoint.Host,
                    [TelemetryTags.ServerPort] = lost.Host.Endpoint.Port,
                    ["routingdata.timeline"] = lost.Timeline,
                }));
                if (snapshot.Primary is null)
                {
                    activity.AddEvent(new ActivityEvent("fast_probing", tags: new ActivityTagsCollection { ["routingdata.probe.interval"] = fastProbeInterval.TotalSeconds }));
                }
            }
        }

        if (!_failingOver)
        {
            return;
        }

        if (snapshot.Primary is { } found && found.Host != _candidate?.Host)
        {
            _candidate = found;
            _failover?.AddEvent(new ActivityEvent("candidate_found", tags: new ActivityTagsCollection
            {
                [TelemetryTags.ServerAddress] = found.Host.Endpoint.Host,
                [TelemetryTags.ServerPort] = found.Host.Endpoint.Port,
                ["routingdata.timeline"] = found.Timeline,
            }));
        }
        else if (snapshot.Primary is null && _candidate is not null)
        {
            // The candidate went away before it was confirmed: still looking.
            _candidate = null;
            _failover?.AddEvent(new ActivityEvent("candidate_lost"));
        }

        if (confirmed && snapshot.Primary is { } primary)
        {
            var elapsed = timeProvider.GetElapsedTime(_failoverStartedAt);
            var outcome = primary.Host == _oldPrimary?.Host ? "recovered" : "promoted";
            if (_failover is { } activity)
            {
                activity.SetTag("routingdata.failover.new_primary", primary.Host.Endpoint.Name);
                activity.SetTag("routingdata.failover.new_timeline", primary.Timeline);
                activity.SetTag(TelemetryTags.FailoverOutcome, outcome);
                activity.AddEvent(new ActivityEvent("primary_confirmed"));
                activity.Stop();
            }

            RoutingDiagnostics.RecordFailover(outcome, elapsed);
            logger.FailoverCompleted(_oldPrimary?.Host.Endpoint.Name ?? "(none)", primary.Host.Endpoint.Name, primary.Timeline, elapsed, outcome);
            (_failingOver, _failover, _oldPrimary, _candidate) = (false, null, null, null);
        }
    }

    private void TrackFences(ClusterSnapshot snapshot)
    {
        foreach (var host in snapshot.Hosts)
        {
            var index = host.Host.Index;
            var fenced = host.IsHealthy && !host.IsInRecovery && host.Timeline != 0 && host.Timeline < snapshot.NewestPrimaryTimeline;
            if (fenced && !_fenced[index])
            {
                var endpoint = host.Host.Endpoint;
                logger.HostFenced(endpoint.Name, host.Timeline, snapshot.NewestPrimaryTimeline);
                RoutingDiagnostics.RecordFence(endpoint);
                _failover?.AddEvent(new ActivityEvent("old_primary_fenced", tags: new ActivityTagsCollection
                {
                    [TelemetryTags.ServerAddress] = endpoint.Host,
                    [TelemetryTags.ServerPort] = endpoint.Port,
                }));
                using var fence = _failover is { } parent
                    ? RoutingDiagnostics.ActivitySource.StartActivity(RoutingDiagnostics.FenceActivityName, ActivityKind.Internal, parent.Context)
                    : StartRoot(RoutingDiagnostics.FenceActivityName);
                if (fence is { IsAllDataRequested: true })
                {
                    fence.SetTag(TelemetryTags.ServerAddress, endpoint.Host);
                    fence.SetTag(TelemetryTags.ServerPort, endpoint.Port);
                    fence.SetTag("routingdata.timeline", host.Timeline);
                    fence.SetTag("routingdata.newest_timeline", snapshot.NewestPrimaryTimeline);
                }
            }

            _fenced[index] = fenced;
        }
    }

    private void TrackLagExclusion(ClusterSnapshot snapshot)
    {
        foreach (var host in snapshot.Hosts)
        {
            var index = host.Host.Index;
            var excluded = Array.IndexOf(snapshot.LaggingReplicas, host) >= 0;
            if (excluded && !_excluded[index])
            {
                logger.ReplicaExcluded(host.Host.Endpoint.Name, snapshot.LagBytes[index], snapshot.Lags[index], host.Timeline);
            }
            else if (!excluded && _excluded[index] && Array.IndexOf(snapshot.EligibleReplicas, host) >= 0)
            {
                logger.ReplicaReadmitted(host.Host.Endpoint.Name, snapshot.LagBytes[index]);
            }

            _excluded[index] = excluded;
        }
    }

    /// <summary>
    /// A span of the monitor's own, not of whatever activity was current when the data source was built (the monitor's
    /// loop inherited that context).
    /// </summary>
    private static Activity? StartRoot(string name)
    {
        if (!RoutingDiagnostics.ActivitySource.HasListeners())
        {
            return null;
        }

        var current = Activity.Current;
        Activity.Current = null;
        try
        {
            return RoutingDiagnostics.ActivitySource.StartActivity(name, ActivityKind.Internal);
        }
        finally
        {
            Activity.Current = current;
        }
    }
}
