using Npgsql;

namespace RoutingData.Tool;

/// <summary>
/// Measures each host's traffic on the server, since this tool cannot see the application's commands: the
/// transactions (commits and rollbacks) of every database in <c>pg_stat_database</c>, less this tool's own (one
/// statistics query per refresh and at most one topology probe per probe interval: an estimate on the high side, so
/// an idle cluster shows no traffic rather than the tool's own).
/// </summary>
internal sealed class ServerTraffic : IAsyncDisposable
{
    private const string Query = "SELECT sum(xact_commit + xact_rollback)::float8 FROM pg_stat_database";

    private readonly Dictionary<string, NpgsqlDataSource> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _own = new(StringComparer.Ordinal);
    private readonly TimeSpan _probeInterval;
    private readonly TimeProvider _timeProvider;
    private readonly long _startedAt;

    /// <param name="connectionString">The user's connection string; one small pool per host is built from it.</param>
    /// <param name="hosts">The hosts, as <c>host:port</c> (from <see cref="HostStatus.Host"/>).</param>
    /// <param name="probeInterval">The data source's topology probe interval: one probe per host per interval is this tool's own traffic.</param>
    /// <param name="timeProvider">The clock.</param>
    public ServerTraffic(string connectionString, IEnumerable<string> hosts, TimeSpan probeInterval, TimeProvider timeProvider)
    {
        _probeInterval = probeInterval;
        _timeProvider = timeProvider;
        _startedAt = timeProvider.GetTimestamp();
        foreach (var host in hosts)
        {
            var separator = host.LastIndexOf(':');
            var builder = new NpgsqlConnectionStringBuilder(connectionString)
            {
                Host = host[..separator],
                Port = int.Parse(host[(separator + 1)..], System.Globalization.CultureInfo.InvariantCulture),
                MaxPoolSize = 1,
                Timeout = 2,
                ApplicationName = "routingdata top",
                LoadBalanceHosts = false,
            };
            builder.Remove("Target Session Attributes");
            _hosts[host] = NpgsqlDataSource.Create(builder);
        }
    }

    /// <summary>Gets what the traffic column counts.</summary>
    public static string Heading => "tx/s";

    /// <summary>Reads each host's transaction count, less this tool's own; hosts that do not answer are left out.</summary>
    /// <param name="cancellationToken">Cancels the queries.</param>
    public async Task<IReadOnlyDictionary<string, double>> SampleAsync(CancellationToken cancellationToken)
    {
        var probes = _timeProvider.GetElapsedTime(_startedAt) / _probeInterval;
        var results = await Task.WhenAll(_hosts.Select(async pair =>
        {
            try
            {
                await using var command = pair.Value.CreateCommand(Query);
                var total = (double)(await command.ExecuteScalarAsync(cancellationToken))!;
                return (Host: pair.Key, Count: (double?)total);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                return (Host: pair.Key, Count: null);
            }
        }));

        var counters = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (host, count) in results)
        {
            // The query just run is this tool's own transaction too.
            var own = _own[host] = _own.GetValueOrDefault(host) + 1;
            if (count is { } total)
            {
                counters[host] = total - own - probes;
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
