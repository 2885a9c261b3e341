using System.Globalization;

namespace RoutingData.Topology;

/// <summary>A host and port from the connection string; <see cref="Name"/> is how it appears in routes, logs and metrics.</summary>
internal sealed class HostEndpoint(string host, int port)
{
    public string Host { get; } = host;

    public int Port { get; } = port;

    public string Name { get; } = (host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host) + ":" + port.ToString(CultureInfo.InvariantCulture);

    /// <summary>OpenTelemetry's <c>server.address</c> of this host, built once for metrics and spans.</summary>
    public KeyValuePair<string, object?> AddressTag { get; } = new(Diagnostics.TelemetryTags.ServerAddress, host);

    /// <summary>OpenTelemetry's <c>server.port</c> of this host, boxed once.</summary>
    public KeyValuePair<string, object?> PortTag { get; } = new(Diagnostics.TelemetryTags.ServerPort, port);

    public override string ToString() => Name;

    /// <summary>
    /// Whether a <c>ReplicaWeights</c> key names this host: <c>host:port</c>, or the host alone (any port) — the form
    /// configuration can hold, since ':' separates configuration sections.
    /// </summary>
    public bool IsNamedBy(string key) =>
        string.Equals(Name, key, StringComparison.OrdinalIgnoreCase) || string.Equals(Host, key, StringComparison.OrdinalIgnoreCase);
}
