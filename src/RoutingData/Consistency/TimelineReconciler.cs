using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using NpgsqlTypes;
using RoutingData.Topology;

namespace RoutingData.Consistency;

/// <summary>
/// Brings a consistency session whose token is on another timeline than the newest primary's onto that timeline. LSNs of
/// two timelines are compared through the fork point (where the newest primary's history left the session's timeline):
/// a position up to it is on the new timeline too and moves over; writes past it were lost in the failover and are
/// reported, once; without a known fork point the session reads from the primary until a position on the new timeline
/// replaces its own. A token on a newer timeline than any primary seen here waits (bounded) for the monitor to see it.
/// </summary>
internal sealed class TimelineReconciler(ClusterMonitor monitor, PrimaryPositionClock clock, ReplicatedDbOptions options, TimeProvider timeProvider, ILogger logger)
{
    // What was logged once: (kind, session's timeline, newest timeline).
    private readonly ConcurrentDictionary<(int Kind, int From, int To), byte> _logged = new();

    /// <summary>
    /// Before a command of <paramref name="session"/> (outside a transaction, or beginning one): reconciles its timeline
    /// and returns the snapshot to route with (a newer one after a wait).
    /// </summary>
    /// <exception cref="SessionWritesLostException">The session's writes were lost (<see cref="LostWritesPolicy.Throw"/>), reported once.</exception>
    /// <exception cref="ReplicaNotCaughtUpException">A read, and the session's timeline is newer than any primary seen here, also after the wait.</exception>
    public async ValueTask<ClusterSnapshot> ReconcileAsync(ConsistencySession session, ClusterSnapshot snapshot, bool isRead, bool async, CancellationToken cancellationToken)
    {
        var timeline = session.Timeline;
        if (timeline > snapshot.NewestPrimaryTimeline)
        {
            // Another process saw a promotion first. Every host here is on an older timeline (or its primary is not known
            // yet), so none can be shown to have the position: give the monitor a chance to find the new primary.
            if (session.TimelineWaitedFor != timeline && options.MaxWaitForPrimary > TimeSpan.Zero)
            {
                snapshot = await WaitForTimelineAsync(timeline, async, cancellationToken).ConfigureAwait(false);
                if (snapshot.NewestPrimaryTimeline < timeline)
                {
                    // Later commands of this session do not wait again; the monitor keeps looking meanwhile.
                    session.TimelineWaitedFor = timeline;
                    if (_logged.TryAdd((0, timeline, snapshot.NewestPrimaryTimeline), 0))
                    {
                        logger.TimelineNotSeen(timeline, snapshot.NewestPrimaryTimeline, options.MaxWaitForPrimary);
                    }
                }
            }

            if (isRead && timeline > snapshot.NewestPrimaryTimeline)
            {
                throw new ReplicaNotCaughtUpException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"The session's token {session.Token} is on timeline {timeline}, but no primary newer than timeline {snapshot.NewestPrimaryTimeline} has been seen here (waited up to {options.MaxWaitForPrimary}): no host here can be shown to have its position, not even the primary. Nothing was executed. Hosts: {snapshot.Describe()}"));
            }
        }

        Reconcile(session, snapshot);
        return snapshot;
    }

    /// <summary>
    /// Moves a session on an older timeline than the newest primary's onto it when the fork point is known; reports its
    /// writes past the fork point as lost. Nothing happens for a session on the newest (or an unknown) timeline.
    /// Allocation-free unless it reports; no I/O.
    /// </summary>
    /// <exception cref="SessionWritesLostException">The session's writes were lost (<see cref="LostWritesPolicy.Throw"/>), reported once.</exception>
    public void Reconcile(ConsistencySession session, ClusterSnapshot snapshot)
    {
        var timeline = session.Timeline;
        var newest = snapshot.NewestPrimaryTimeline;
        if (timeline == 0 || timeline >= newest)
        {
            return;
        }

        ResolvePendingOnOldTimeline(session, timeline);
        if (snapshot.ForkPoint(timeline) is not { } fork)
        {
            // Not read yet (tried again next round): silent. Unreadable, or not an ancestor: said once.
            if (snapshot.Timelines is { } history && _logged.TryAdd((1, timeline, newest), 0))
            {
                logger.ForkPointUnknown(timeline, newest, history.WhyUnknown(timeline));
            }

            return;
        }

        if (!session.MoveToTimeline(timeline, newest, fork, out var before, out var written) || written <= fork)
        {
            return; // Moved by a concurrent command, or everything it wrote is on the new timeline too.
        }

        var policy = options.LostWritesPolicy;
        var forkPoint = new NpgsqlLogSequenceNumber(fork);
        var report = new SessionWritesLostException(Describe(before, written, forkPoint, newest), before, forkPoint, newest);
        RoutingDiagnostics.RecordLostWrites(policy);
        logger.SessionWritesLost(before, forkPoint, newest, policy);
        session.ReportLostWrites(report);
        if (policy == LostWritesPolicy.Throw)
        {
            throw report;
        }
    }

    /// <summary>
    /// A command of the session still pending on the primary of its (old) timeline: only a reading of that primary covers
    /// it, and that primary is not the primary any more, so where it ended is unknown — it may be past the fork point.
    /// </summary>
    private void ResolvePendingOnOldTimeline(ConsistencySession session, int timeline)
    {
        var pending = session.PrimaryPendingSince;
        if (pending == 0)
        {
            return;
        }

        var ranOn = session.PendingTimeline; // 0: only reads stand behind the mark.
        if (clock.TryResolve(pending, out var reading) && reading.Timeline == timeline)
        {
            session.Advance(reading.SystemIdentifier, timeline, reading.Lsn, wrote: ranOn != 0);
            session.ClearPrimary(pending);
        }
        else if (ranOn == timeline || ranOn == 0)
        {
            if (ranOn != 0)
            {
                session.MarkWriteUnknown();
            }

            session.ClearPrimary(pending);
        }

        // Otherwise it ran on a newer primary already: resolving it there moves the session (ReplicatedDataSource.ResolveSession).
    }

    private static string Describe(ConsistencyToken before, ulong written, NpgsqlLogSequenceNumber forkPoint, int newest)
    {
        var what = written == ConsistencySession.UnknownWrite
            ? "the position of its last write there was never captured (its primary went away first), so that write may be among them"
            : string.Create(CultureInfo.InvariantCulture, $"the session wrote up to {new NpgsqlLogSequenceNumber(written)}");
        return string.Create(
            CultureInfo.InvariantCulture,
            $"The consistency session's writes after {forkPoint} on timeline {before.Timeline} were lost in a failover: the new primary's timeline {newest} forked off timeline {before.Timeline} at {forkPoint}, and {what} (token {before}). What it wrote after {forkPoint} is not in the database (a standby was promoted without it); nothing was sent again. Check those writes and redo them if needed, then run this command again: the session continues on timeline {newest}, and this is reported once (ConsistencySession.LostWrites keeps it). LostWritesPolicy.Ignore only logs it.");
    }

    /// <summary>Waits (bounded by <see cref="ReplicatedDbOptions.MaxWaitForPrimary"/>) until the monitor has seen a primary on <paramref name="timeline"/> or later.</summary>
    private async ValueTask<ClusterSnapshot> WaitForTimelineAsync(int timeline, bool async, CancellationToken cancellationToken)
    {
        var deadline = monitor.Now + (long)(options.MaxWaitForPrimary.TotalSeconds * timeProvider.TimestampFrequency);
        var snapshot = monitor.Snapshot;
        while (snapshot.NewestPrimaryTimeline < timeline)
        {
            var left = deadline - monitor.Now;
            if (left <= 0)
            {
                break;
            }

            // Each pass waits for a probe round that starts later (at the failover cadence) and has a primary.
            snapshot = await monitor.WaitForPrimaryAsync(TimeSpan.FromSeconds((double)left / timeProvider.TimestampFrequency), monitor.Now, async, cancellationToken).ConfigureAwait(false);
        }

        return snapshot;
    }
}
