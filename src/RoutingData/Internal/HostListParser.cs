using System.Globalization;
using Npgsql;
using RoutingData.Topology;

namespace RoutingData.Internal;

/// <summary>Turns a multi-host connection string into host endpoints, collecting every problem with the host that caused it.</summary>
internal static class HostListParser
{
    public static List<HostEndpoint> Parse(NpgsqlConnectionStringBuilder builder, List<string> problems)
    {
        var endpoints = new List<HostEndpoint>();
        var hostList = builder.Host;
        if (string.IsNullOrWhiteSpace(hostList))
        {
            problems.Add("The connection string names no host (Host=a:5432,b:5432,…).");
            return endpoints;
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var raw in hostList.Split(','))
        {
            var entry = raw.Trim();
            if (entry.Length == 0)
            {
                problems.Add($"The host list '{hostList}' has an empty entry.");
                continue;
            }

            if (!TrySplit(entry, builder.Port, out var host, out var portText, out var port))
            {
                problems.Add($"Host '{entry}' has an invalid port '{portText}': it must be a number from 1 to 65535.");
                continue;
            }

            if (host.Length == 0 || host.Contains(' ', StringComparison.Ordinal))
            {
                problems.Add($"Host '{entry}' is not a valid host name.");
                continue;
            }

            var endpoint = new HostEndpoint(host, port);
            if (!seen.Add(endpoint.Name))
            {
                problems.Add($"Host '{endpoint.Name}' is listed twice.");
                continue;
            }

            endpoints.Add(endpoint);
        }

        return endpoints;
    }

    private static bool TrySplit(string entry, int defaultPort, out string host, out string portText, out int port)
    {
        host = entry;
        portText = string.Empty;
        port = defaultPort;
        string? explicitPort = null;
        if (entry.StartsWith('['))
        {
            // [IPv6]:port
            var close = entry.IndexOf(']', StringComparison.Ordinal);
            host = close > 0 ? entry[1..close] : entry;
            if (close > 0 && close + 1 < entry.Length && entry[close + 1] == ':')
            {
                explicitPort = entry[(close + 2)..];
            }
        }
        else if (entry.Count(c => c == ':') == 1)
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            host = entry[..colon];
            explicitPort = entry[(colon + 1)..];
        }

        if (explicitPort is null)
        {
            return true;
        }

        portText = explicitPort;
        return int.TryParse(explicitPort, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
    }
}
