namespace RoutingData.Testing.Consistency;

/// <summary>One completed operation of a session, in the session's program order.</summary>
/// <param name="Session">The session.</param>
/// <param name="IsWrite">Whether it was a write.</param>
/// <param name="Key">The key.</param>
/// <param name="Version">The version written or read.</param>
/// <param name="Host">Where it ran.</param>
/// <param name="FromReplica">Whether a replica answered.</param>
/// <param name="Started">When it started (Stopwatch ticks).</param>
/// <param name="Ended">When it ended (Stopwatch ticks).</param>
public readonly record struct HistoryEvent(int Session, bool IsWrite, int Key, long Version, string Host, bool FromReplica, long Started, long Ended);
