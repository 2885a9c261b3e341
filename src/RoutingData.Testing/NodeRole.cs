namespace RoutingData.Testing;

/// <summary>The role the harness gave a node. The server's own view is <see cref="PostgresNode.IsInRecoveryAsync"/>.</summary>
public enum NodeRole
{
    /// <summary>Accepts writes: the initial primary, a promoted standby, or a split-brain primary.</summary>
    Primary,

    /// <summary>A streaming standby (hot standby: it answers read-only queries).</summary>
    Standby,
}
