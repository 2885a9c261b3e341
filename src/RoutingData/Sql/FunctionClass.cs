namespace RoutingData.Sql;

/// <summary>What calling a function may do, as far as routing is concerned.</summary>
internal enum FunctionClass : byte
{
    /// <summary>Safe on a hot standby.</summary>
    ReadOnly,

    /// <summary>Writes, or only works on the primary, and leaves no session state: a built-in, or named in <see cref="ReplicatedDbOptions.WritingFunctions"/>.</summary>
    Writing,

    /// <summary>Leaves state in the session (session-level advisory locks, settings): pins the connection.</summary>
    SessionState,

    /// <summary>
    /// A user-defined (or extension) VOLATILE function: it may write and may change session state (<c>set_config</c>,
    /// temp tables), so it runs on the primary and pins the connection there.
    /// </summary>
    Volatile,

    /// <summary>Not known: treated like <see cref="Volatile"/>.</summary>
    Unknown,
}
