namespace RoutingData;

/// <summary>How a consistency session learns the primary's WAL position after its commands.</summary>
public enum LsnCaptureMode
{
    /// <summary>
    /// A shared background query reads <c>pg_current_wal_insert_lsn()</c> after the command is acknowledged, at most once
    /// per <see cref="ReplicatedDbOptions.LsnCaptureInterval"/> for all sessions together. Writes cost nothing extra;
    /// a read that comes before the capture lands goes to the primary (or, with <see cref="StaleReadPolicy.Wait"/>,
    /// waits for the capture). Replica reads stay on the replica they last read from until a probe of that replica
    /// has covered them.
    /// </summary>
    Background,

    /// <summary>
    /// Every command that may write (and, with <see cref="ReplicatedDbOptions.MonotonicReads"/>, every read) carries a
    /// capture statement in its own round trip, behind an error barrier: the exact position at once, for about one
    /// more statement of server work per command.
    /// </summary>
    SameRoundTrip,
}
