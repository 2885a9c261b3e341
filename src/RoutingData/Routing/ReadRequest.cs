using RoutingData.Topology;

namespace RoutingData.Routing;

/// <summary>What a read asks of the router, beyond the snapshot: one small value instead of a row of positionals.</summary>
/// <param name="Preference">The effective read preference.</param>
/// <param name="Detail">What the classifier saw.</param>
/// <param name="Hinted">Whether the preference came from a SQL hint (for the reason).</param>
/// <param name="MinLsn">The consistency session's position: replicas not known to have replayed it are no candidates.</param>
/// <param name="Only">When set: the one replica the session may read from (its last read is not covered by a later reading yet).</param>
/// <param name="Sticky">The replica this logical connection already uses; kept while it is a candidate.</param>
/// <param name="Exclude">A host not to use (a retry after it failed the read).</param>
internal readonly record struct ReadRequest(
    ReadPreference Preference,
    string Detail,
    bool Hinted = false,
    ulong MinLsn = 0,
    HostRuntime? Only = null,
    HostRuntime? Sticky = null,
    HostRuntime? Exclude = null);
