using System.Diagnostics.Metrics;
using RoutingData.Topology;

namespace RoutingData.Diagnostics;

/// <summary>
/// The live data sources' monitors, for the observable instruments: each collection reads every monitor's current
/// snapshot (immutable, no lock), so several data sources in one process each report their own hosts. A monitor
/// registers when it starts and leaves when it is disposed; only those rare changes take the lock.
/// </summary>
internal static class ObservedHosts
{
    private static readonly object Gate = new();
    private static ClusterMonitor[] _monitors = [];

    public enum Kind
    {
        LagBytes,
        Eligible,
        Health,
        Outstanding,
    }

    public static void Register(ClusterMonitor monitor)
    {
        lock (Gate)
        {
            Volatile.Write(ref _monitors, [.. _monitors, monitor]);
        }
    }

    public static void Unregister(ClusterMonitor monitor)
    {
        lock (Gate)
        {
            var index = Array.IndexOf(_monitors, monitor);
            if (index >= 0)
            {
                var rest = new ClusterMonitor[_monitors.Length - 1];
                Array.Copy(_monitors, 0, rest, 0, index);
                Array.Copy(_monitors, index + 1, rest, index, rest.Length - index);
                Volatile.Write(ref _monitors, rest);
            }
        }
    }

    public static List<Measurement<long>> Observe(Kind kind)
    {
        var result = new List<Measurement<long>>();
        foreach (var monitor in Volatile.Read(ref _monitors))
        {
            var snapshot = monitor.Snapshot;
            foreach (var host in snapshot.Hosts)
            {
                var endpoint = host.Host.Endpoint;
                var replica = host.IsHealthy && host.IsInRecovery;
                switch (kind)
                {
                    case Kind.LagBytes when replica:
                        result.Add(new(snapshot.LagBytes[host.Host.Index], endpoint.AddressTag, endpoint.PortTag));
                        break;
                    case Kind.Eligible when replica:
                        result.Add(new(Array.IndexOf(snapshot.EligibleReplicas, host) >= 0 ? 1 : 0, endpoint.AddressTag, endpoint.PortTag));
                        break;
                    case Kind.Health:
                        result.Add(new(host.IsHealthy ? 1 : 0, endpoint.AddressTag, endpoint.PortTag, new(TelemetryTags.HostRole, RoleOf(host))));
                        break;
                    case Kind.Outstanding:
                        result.Add(new(host.Host.Outstanding, endpoint.AddressTag, endpoint.PortTag));
                        break;
                }
            }
        }

        return result;
    }

    public static List<Measurement<double>> ObserveDouble()
    {
        var result = new List<Measurement<double>>();
        foreach (var monitor in Volatile.Read(ref _monitors))
        {
            var snapshot = monitor.Snapshot;
            foreach (var host in snapshot.Hosts)
            {
                if (host.IsHealthy && host.IsInRecovery && snapshot.Lags[host.Host.Index] is { } lag)
                {
                    result.Add(new(lag.TotalSeconds, host.Host.Endpoint.AddressTag, host.Host.Endpoint.PortTag));
                }
            }
        }

        return result;
    }

    /// <summary>The role a host last answered with; <c>unknown</c> before it ever answered.</summary>
    private static string RoleOf(HostState host) =>
        host.SystemIdentifier is null ? "unknown" : RoutingDiagnostics.RoleName(host.IsInRecovery ? HostRole.Replica : HostRole.Primary);
}
