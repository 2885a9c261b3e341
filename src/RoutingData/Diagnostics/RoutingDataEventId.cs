namespace RoutingData;

/// <summary>Event ids of RoutingData's log messages, one range per area.</summary>
public static class RoutingDataEventId
{
    /// <summary>A command was routed (Debug).</summary>
    public const int CommandRouted = 1000;

    /// <summary>A replica answered 25006 and the command was re-run on the primary.</summary>
    public const int ReadOnlyRetry = 1001;

    /// <summary>A read was cancelled by a recovery conflict and re-run on another host.</summary>
    public const int RecoveryConflictRetry = 1002;

    /// <summary>A logical connection was pinned to the primary by a session-state statement.</summary>
    public const int SessionPinned = 1003;

    /// <summary>A read on a replica that went down was re-run on another host.</summary>
    public const int HostFailureRetry = 1004;

    /// <summary>A background capture of the primary's WAL position failed (sessions read from the primary meanwhile).</summary>
    public const int PositionCaptureFailed = 2000;

    /// <summary>A consistency session's writes were found lost in a failover (its token is past the new timeline's fork point).</summary>
    public const int SessionWritesLost = 2001;

    /// <summary>
    /// A session's token is on an older timeline whose fork point is not known (the history file could not be read): its
    /// reads go to the primary until it moves to the new timeline. Logged once per pair of timelines.
    /// </summary>
    public const int ForkPointUnknown = 2002;

    /// <summary>A session's token is on a newer timeline than any primary this process has seen, even after waiting for the monitor.</summary>
    public const int TimelineNotSeen = 2003;

    /// <summary>A host's role or health changed.</summary>
    public const int HostStateChanged = 3000;

    /// <summary>A probe of a host failed.</summary>
    public const int ProbeFailed = 3001;

    /// <summary>The primary changed.</summary>
    public const int PrimaryChanged = 3002;

    /// <summary>Hosts from different clusters were found.</summary>
    public const int ClusterMismatch = 3003;

    /// <summary>The function catalog was (re)loaded from pg_proc.</summary>
    public const int FunctionCatalogLoaded = 3004;

    /// <summary>Loading the function catalog failed.</summary>
    public const int FunctionCatalogFailed = 3005;

    /// <summary>The primary's timeline history (its fork points) cannot be read: no permission, or the file is missing.</summary>
    public const int TimelineHistoryUnreadable = 3006;

    /// <summary>Reading the primary's timeline history failed for now (Debug); it is tried again next round.</summary>
    public const int TimelineHistoryFailed = 3007;

    /// <summary>A topology source (Patroni) says something new about the leader (Information).</summary>
    public const int TopologySourceReported = 3008;

    /// <summary>A topology source could not be read; probing goes on without it (Warning, then Debug while it keeps failing).</summary>
    public const int TopologySourceFailed = 3009;

    /// <summary>A topology source names a leader that is not one of the configured hosts (Warning).</summary>
    public const int TopologySourceLeaderUnknown = 3010;

    /// <summary>A host claims to be primary on a timeline older than a primary seen since: it is fenced, never written to (Warning).</summary>
    public const int HostFenced = 3011;

    /// <summary>A healthy replica left the read set: past the lag bound, or on another timeline than the primary (Warning).</summary>
    public const int ReplicaExcluded = 3012;

    /// <summary>A replica excluded by the lag bound takes reads again (Information).</summary>
    public const int ReplicaReadmitted = 3013;

    /// <summary>The primary is in doubt; the monitor probes at the failover cadence.</summary>
    public const int FastProbing = 4000;

    /// <summary>A failover began: the primary was lost, or another host became primary (Warning).</summary>
    public const int FailoverStarted = 4001;

    /// <summary>A failover ended: a primary was confirmed by a probe round that started after the last doubt (Warning).</summary>
    public const int FailoverCompleted = 4002;

    /// <summary>A request carried a consistency token that was forged, of another cluster or otherwise invalid (ASP.NET Core integration).</summary>
    public const int InvalidSessionToken = 5000;

    /// <summary>A request's session could not be written back (its position could not be captured); the response went out without it.</summary>
    public const int SessionNotWrittenBack = 5001;
}
