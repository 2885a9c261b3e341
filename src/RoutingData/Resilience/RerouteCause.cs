namespace RoutingData;

/// <summary>Why the reroute strategy ran a command again on another host.</summary>
public enum RerouteCause
{
    /// <summary>The chosen host could not be reached: nothing was sent, so the command goes where the topology now says.</summary>
    HostUnreachable,

    /// <summary>The chosen replica had not replayed the session's position after all (checked in the same round trip; its results were discarded).</summary>
    ReplicaBehind,

    /// <summary>A standby refused the statement as a write (SQLSTATE 25006 and kin): nothing ran there, so it runs on the primary.</summary>
    RefusedByStandby,

    /// <summary>A replica cancelled the read because of a recovery conflict: it runs once more on another host.</summary>
    RecoveryConflict,

    /// <summary>A read outside a transaction lost its connection before anything reached the caller: it runs once more on another host.</summary>
    ReadConnectionLost,
}
