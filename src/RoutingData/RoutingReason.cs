namespace RoutingData;

/// <summary>Why a command went where it went.</summary>
public enum RoutingReason
{
    /// <summary>The classifier proved the statement read-only and a replica was eligible.</summary>
    ClassifiedRead,

    /// <summary>The statement may write (or could not be proved read-only).</summary>
    ClassifiedWrite,

    /// <summary>The command ran in an explicit transaction, on that transaction's host.</summary>
    Transaction,

    /// <summary>The statement changes session state: the logical connection is now pinned to the primary.</summary>
    SessionState,

    /// <summary>An earlier session-state statement pinned the logical connection to the primary.</summary>
    SessionPinned,

    /// <summary>A <c>/* routing:… */</c> comment in the SQL chose the host.</summary>
    Hint,

    /// <summary>The read preference (data source, connection or command) chose the host.</summary>
    ReadPreference,

    /// <summary>A read went to the primary because no replica was healthy.</summary>
    NoHealthyReplica,

    /// <summary>A read went to the primary because every healthy replica was past the lag bound.</summary>
    LagBound,

    /// <summary>
    /// A read went to the primary because no eligible replica had replayed the consistency session's position
    /// (its own writes, or what it already read).
    /// </summary>
    NotCaughtUp,

    /// <summary>A read waited (<see cref="StaleReadPolicy.Wait"/>) until a replica caught up with its session.</summary>
    WaitedForReplica,

    /// <summary>A replica answered 25006 (read-only transaction): nothing ran there, so the command was re-run on the primary.</summary>
    ReadOnlyRetry,

    /// <summary>A read was cancelled by a hot-standby recovery conflict (40001) and re-run on another host.</summary>
    RecoveryConflictRetry,

    /// <summary>
    /// A read right after the session's command on the primary, before the background capture of that command's
    /// position landed (<see cref="LsnCaptureMode.Background"/>): only the primary is sure to have it. Also a read of a
    /// session whose position is on an older timeline whose fork point is not known (the new primary's timeline history
    /// could not be read): no replica can be shown to have it until the session moves to the new timeline.
    /// </summary>
    PositionPending,

    /// <summary>
    /// A read on a replica failed because the replica went down or away (connection lost, 57P01–57P03): a replica writes
    /// nothing, so the read was re-run on another host. Also a read whose replica could not be reached at all.
    /// </summary>
    HostFailureRetry,

    /// <summary>
    /// A read waited briefly (at most <see cref="ReplicatedDbOptions.MaxRejoinWait"/>) for a replica that already had the
    /// session's own writes to replay what the session had read on the primary, instead of reading the primary again.
    /// </summary>
    Rejoined,
}
