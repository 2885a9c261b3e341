namespace RoutingData;

/// <summary>
/// Something that knows the cluster's members and their roles — a cluster manager's API (Patroni), DNS records, a
/// cloud provider's API — polled by the topology monitor every <see cref="ReplicatedDbOptions.TopologySourcePollInterval"/>.
/// </summary>
/// <remarks>
/// <para>
/// What a source reports is a hint, never a routing decision: when it names a leader other than the primary the probes
/// found (or no leader, or the primary as not running), the monitor probes every host at once and at the failover
/// cadence until a probe confirms a primary. Roles, timelines and lag always come from the probes.
/// </para>
/// <para>
/// Members are matched to the configured hosts by host and port as written in the connection string; a member that
/// matches none is shown in diagnostics only. A source that throws is logged (its exception's message) and tried again
/// at the next interval: probing goes on without it, so messages must not carry secrets. A source bounds its own waits
/// (the next poll of it starts only after the last one returned); the token is cancelled when the data source is disposed.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// sealed class DnsSource(string name) : ITopologySource
/// {
///     public string Name => "DNS";
///
///     public async ValueTask&lt;IReadOnlyList&lt;TopologyMember&gt;&gt; GetMembersAsync(CancellationToken cancellationToken)
///     {
///         var addresses = await Dns.GetHostAddressesAsync(name, cancellationToken);
///         return addresses.Select(a =&gt; new TopologyMember(a.ToString(), 5432, HostRole.Primary)).ToList();
///     }
/// }
///
/// builder.UseTopologySource(new DnsSource("primary.db.internal"));
/// </code>
/// </example>
public interface ITopologySource
{
    /// <summary>Gets a short name for logs and diagnostics, for example <c>Patroni</c>.</summary>
    string Name { get; }

    /// <summary>Reads the cluster's members as the source sees them now.</summary>
    /// <param name="cancellationToken">Cancelled when the data source is disposed.</param>
    /// <returns>Every member the source knows of; an empty list says the source knows of none (so of no leader either).</returns>
    ValueTask<IReadOnlyList<TopologyMember>> GetMembersAsync(CancellationToken cancellationToken);
}
