namespace RoutingData.Routing;

/// <summary>What calling a function may do, as far as routing is concerned.</summary>
internal enum FunctionClass : byte
{
    /// <summary>Safe on a hot standby.</summary>
    ReadOnly,

    /// <summary>Writes, or only works on the primary.</summary>
    Writing,

    /// <summary>Leaves state in the session (session-level advisory locks, settings): pins the connection.</summary>
    SessionState,

    /// <summary>Not known: treated as writing.</summary>
    Unknown,
}
