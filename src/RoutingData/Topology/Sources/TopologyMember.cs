namespace RoutingData;

/// <summary>One member of the cluster as an <see cref="ITopologySource"/> reports it.</summary>
/// <param name="Host">The member's host, as the connection string names it (a name or an address).</param>
/// <param name="Port">The member's PostgreSQL port.</param>
/// <param name="Role">The role the source claims for it: <see cref="HostRole.Primary"/> for the leader.</param>
public sealed record TopologyMember(string Host, int Port, HostRole Role)
{
    /// <summary>Gets the member's name in the source (a Patroni member name), if it has one.</summary>
    public string? Name { get; init; }

    /// <summary>Gets the source's own word on the member's state, for diagnostics (Patroni: <c>running</c>, <c>stopped</c>, …).</summary>
    public string? State { get; init; }

    /// <summary>Gets a value indicating whether the source says the member's server runs.</summary>
    /// <value>The default value is true.</value>
    public bool IsRunning { get; init; } = true;

    /// <summary>Gets the member's timeline, if the source knows it.</summary>
    public int? Timeline { get; init; }

    /// <summary>Gets how many WAL bytes a replica is behind the leader, if the source knows it.</summary>
    public long? LagBytes { get; init; }
}
