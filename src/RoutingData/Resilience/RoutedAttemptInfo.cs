namespace RoutingData;

/// <summary>What a resilience strategy may know of the routed command it runs for.</summary>
/// <param name="Route">Where the command goes (or went) on this attempt; null before the first attempt was routed.</param>
/// <param name="IsRead">Whether the command was proved read-only (and no standby found it writing).</param>
/// <param name="InTransaction">Whether it runs in an open transaction (a transaction is never re-run by RoutingData).</param>
/// <param name="Sent">Whether the last attempt reached the server; false when it failed before anything was sent.</param>
public readonly record struct RoutedAttemptInfo(RouteInfo? Route, bool IsRead, bool InTransaction, bool Sent);
