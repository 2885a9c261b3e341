using Npgsql;

namespace RoutingData.Tool;

/// <summary>
/// Measures each host's traffic on the server, since this tool cannot see the application's commands: the client
/// sessions that ran a query since the last refresh (or are running one now), from <c>pg_stat_activity</c>, which the
/// server keeps current. The tool's own sessions (its probes and this query) carry the application name
/// <see cref="ApplicationName"/> and are left out. (<c>pg_stat_database</c>'s transaction counts are not used: a
/// session that is never idle for long publishes them only every minute or so.)
/// </summary>
internal sealed class ServerTraffic : IAsyncDisposable
{
    /// <summary>The application name of every connection the tool makes.</summary>
    public const string ApplicationName = "routingdata top";

    private const string Query = """
        SELECT now(), count(*) FILTER (WHERE state = 'active' OR query_start > $1)::int
        FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name IS DISTINCT FROM $2
        """;

    private readonly Dictionary<string, NpgsqlDataSource> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _lastSampleAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _busy = new(StringComparer.Ordinal);

    /// <param name="connectionString">The user's connection string; one small pool per host is built from it.</param>
    /// <param name="hosts">The hosts, as <c>host:port</c> (from <see cref="HostStatus.Host"/>).</param>
    public ServerTraffic(string connectionString, IEnumerable<string> hosts)
    {
        foreach (var host in hosts)
        {
            var separator = host.LastIndexOf(':');
            var builder = new NpgsqlConnectionStringBuilder(connectionString)
            {
                Host = host[..separator],
                Port = int.Parse(host[(separator + 1)..], System.Globalization.CultureInfo.InvariantCulture),
                MaxPoolSize = 1,
                Timeout = 2,
                ApplicationName = ApplicationName,
                LoadBalanceHosts = false,
            };
            builder.Remove("Target Session Attributes");
            _hosts[host] = NpgsqlDataSource.Create(builder);
        }
    }

    /// <summary>Gets what the traffic column counts.</summary>
    public static string Heading => "busy";

    /// <summary>
    /// Reads each host's busy sessions since its last sample and returns the running total per host (for a
    /// <see cref="LiveView.TrafficWindow"/>); hosts that do not answer are left out.
    /// </summary>
    /// <param name="cancellationToken">Cancels the queries.</param>
    public async Task<IReadOnlyDictionary<string, double>> SampleAsync(CancellationToken cancellationToken)
    {
        var results = await Task.WhenAll(_hosts.Select(async pair =>
        {
            try
            {
                await using var command = pair.Value.CreateCommand(Query);
                var since = _lastSampleAt.TryGetValue(pair.Key, out var last) ? last : DateTime.SpecifyKind(DateTime.MaxValue, DateTimeKind.Utc);
                command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = since });
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ApplicationName });
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                return (Host: pair.Key, At: (DateTime?)reader.GetDateTime(0), Busy: reader.GetInt32(1));
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                return (Host: pair.Key, At: null, Busy: 0);
            }
        }));

        var counters = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (host, at, busy) in results)
        {
            if (at is { } sampledAt)
            {
                // The first sample only sets the mark: sessions before it are not this refresh's traffic.
                var first = !_lastSampleAt.ContainsKey(host);
                _lastSampleAt[host] = sampledAt;
                counters[host] = _busy[host] = _busy.GetValueOrDefault(host) + (first ? 0 : busy);
            }
        }

        return counters;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var dataSource in _hosts.Values)
        {
            await dataSource.DisposeAsync();
        }
    }
}
