namespace RoutingData.Testing.Pgpool;

/// <summary>How <see cref="PgpoolServer"/> configures pgpool-II.</summary>
public sealed class PgpoolOptions
{
    /// <summary>Gets or sets how many client connections pgpool serves at once (<c>num_init_children</c>); more wait in its queue.</summary>
    /// <value>The default value is 64.</value>
    public int MaxClients { get; set; } = 64;

    /// <summary>
    /// Gets or sets a value indicating whether pgpool follows a failover done by others: every backend may fail over,
    /// a health check every second detaches a dead one, and pgpool then looks for the new primary among the others
    /// (<c>pg_is_in_recovery()</c>), as it does behind Patroni or repmgr. Without it, the first node is the primary
    /// forever (<c>ALWAYS_PRIMARY</c>) and nothing is ever detached.
    /// </summary>
    /// <value>The default value is false.</value>
    public bool FollowFailover { get; set; }
}
