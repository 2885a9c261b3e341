namespace RoutingData;

/// <summary>The role of a host: of the one that served a command, or the one a topology source claims for it.</summary>
public enum HostRole
{
    /// <summary>The primary (read-write); a topology source's leader.</summary>
    Primary,

    /// <summary>A streaming replica (hot standby, read-only).</summary>
    Replica,
}
