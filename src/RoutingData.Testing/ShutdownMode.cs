namespace RoutingData.Testing;

/// <summary>How <see cref="PostgresNode.StopAsync"/> shuts a server down (<c>pg_ctl stop -m</c>).</summary>
public enum ShutdownMode
{
    /// <summary>Disconnect clients, write a shutdown checkpoint and exit cleanly.</summary>
    Fast,

    /// <summary>Exit at once without a checkpoint; the next start runs crash recovery.</summary>
    Immediate,
}
