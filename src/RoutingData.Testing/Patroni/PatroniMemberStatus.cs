namespace RoutingData.Testing.Patroni;

/// <summary>One member as Patroni's <c>GET /cluster</c> reports it.</summary>
/// <param name="Name">The member (node) name.</param>
/// <param name="Role">Patroni's role: <c>leader</c>, <c>replica</c>, <c>sync_standby</c>, <c>standby_leader</c>.</param>
/// <param name="State">Patroni's state: <c>running</c>, <c>streaming</c>, <c>stopped</c>, <c>starting</c>, …</param>
/// <param name="Host">The PostgreSQL host it advertises.</param>
/// <param name="Port">The PostgreSQL port it advertises.</param>
/// <param name="Timeline">The member's timeline, if reported.</param>
public sealed record PatroniMemberStatus(string Name, string Role, string State, string? Host, int? Port, int? Timeline)
{
    /// <summary>Gets a value indicating whether the member is the running leader.</summary>
    public bool IsRunningLeader => Role == "leader" && State == "running";

    /// <summary>Gets a value indicating whether the member is a running replica (Patroni 3.0.2 says <c>running</c>, later ones <c>streaming</c>).</summary>
    public bool IsRunningReplica => Role is "replica" or "sync_standby" && State is "running" or "streaming";
}
