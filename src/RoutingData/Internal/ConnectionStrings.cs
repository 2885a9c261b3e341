using Npgsql;
using RoutingData.Topology;

namespace RoutingData.Internal;

/// <summary>Per-host connection strings, and the redacted form that may appear in messages.</summary>
internal static class ConnectionStrings
{
    /// <summary>The connection string without its password (for messages, logs and <c>ConnectionString</c>).</summary>
    public static string Redact(NpgsqlConnectionStringBuilder builder)
    {
        var copy = new NpgsqlConnectionStringBuilder(builder.ConnectionString);
        copy.Remove("Password");
        return copy.ConnectionString;
    }

    /// <summary>
    /// The template with one host. Multi-host settings are cleared: RoutingData chooses the host, so each
    /// per-host data source must connect to exactly the host it is named after.
    /// </summary>
    public static string ForHost(NpgsqlConnectionStringBuilder template, HostEndpoint endpoint, bool pooling, int? timeoutSeconds, bool readOnly = false)
    {
        var copy = new NpgsqlConnectionStringBuilder(template.ConnectionString)
        {
            Host = endpoint.Host,
            Port = endpoint.Port,
            LoadBalanceHosts = false,
        };
        copy.Remove("Target Session Attributes");
        if (!pooling)
        {
            copy.Pooling = false;
        }

        if (timeoutSeconds is { } timeout)
        {
            copy.Timeout = timeout;
        }

        if (readOnly)
        {
            // Sessions used for replica reads cannot write even on a host promoted since the last probe.
            copy.Options = string.IsNullOrWhiteSpace(copy.Options)
                ? "-c default_transaction_read_only=on"
                : copy.Options + " -c default_transaction_read_only=on";
        }

        return copy.ConnectionString;
    }
}
