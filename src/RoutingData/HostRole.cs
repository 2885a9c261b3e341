namespace RoutingData;

/// <summary>The role of the host that served a command.</summary>
public enum HostRole
{
    /// <summary>The primary (read-write).</summary>
    Primary,

    /// <summary>A streaming replica (hot standby, read-only).</summary>
    Replica,
}
