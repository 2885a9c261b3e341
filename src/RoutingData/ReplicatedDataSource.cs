using System.Data.Common;
using Microsoft.Extensions.Logging;
using Npgsql;
using RoutingData.Routing;
using RoutingData.Topology;

namespace RoutingData;

/// <summary>
/// A <see cref="DbDataSource"/> over a PostgreSQL replication cluster that routes every command: provably
/// read-only statements to a healthy replica within the lag bound, everything else — writes, transactions,
/// session state — to the primary. One per cluster (a singleton); it owns one Npgsql data source (pool) per
/// host and a background monitor of the cluster's topology.
/// </summary>
/// <example>
/// <code>
/// await using var dataSource = new ReplicatedDataSourceBuilder("Host=a:5432,b:5432,c:5432;Username=app;Database=app").Build();
/// await using var connection = await dataSource.OpenConnectionAsync();
/// var count = await connection.ExecuteScalarAsync&lt;long&gt;("SELECT count(*) FROM orders");   // a replica (Dapper)
/// </code>
/// </example>
public sealed class ReplicatedDataSource : DbDataSource
{
    private readonly HostRuntime[] _hosts;
    private readonly string _redactedConnectionString;
    private volatile StatementClassifier _classifier;
    private int _disposed;
    private int _leasedConnections;

    internal ReplicatedDataSource(ReplicatedDbOptions options, NpgsqlConnectionStringBuilder template, HostRuntime[] hosts, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        Options = options;
        _hosts = hosts;
        _redactedConnectionString = Internal.ConnectionStrings.Redact(template);
        DatabaseName = template.Database ?? template.Username ?? string.Empty;
        HostList = string.Join(',', hosts.Select(h => h.Endpoint.Name));
        Logger = loggerFactory.CreateLogger<ReplicatedDataSource>();
        Router = new Router(options);
        _classifier = new StatementClassifier(FunctionCatalog.CreateDefault(options.ReadOnlyFunctions, options.WritingFunctions));
        Monitor = new ClusterMonitor(hosts, options, timeProvider, loggerFactory.CreateLogger<ClusterMonitor>(), catalog => _classifier = new StatementClassifier(catalog));
        Monitor.Start();
    }

    /// <summary>Gets the cluster's connection string without its password.</summary>
    public override string ConnectionString => _redactedConnectionString;

    /// <summary>Gets where reads go unless a command, connection or SQL hint says otherwise.</summary>
    public ReadPreference DefaultReadPreference => Options.DefaultReadPreference;

    internal ReplicatedDbOptions Options { get; }

    internal ClusterMonitor Monitor { get; }

    internal Router Router { get; }

    internal StatementClassifier Classifier => _classifier;

    internal ILogger Logger { get; }

    internal string DatabaseName { get; }

    internal string HostList { get; }

    internal IReadOnlyList<HostRuntime> HostRuntimes => _hosts;

    /// <summary>Physical connections currently borrowed by routed connections (for leak tests).</summary>
    internal int LeasedConnections => Volatile.Read(ref _leasedConnections);

    internal void OnPhysicalLeased() => Interlocked.Increment(ref _leasedConnections);

    internal void OnPhysicalReturned() => Interlocked.Decrement(ref _leasedConnections);

    /// <summary>Builds a data source from a multi-host connection string with default options.</summary>
    /// <param name="connectionString">The connection string naming every host.</param>
    /// <returns>The data source; its monitor starts probing at once.</returns>
    public static ReplicatedDataSource Create(string connectionString) => new ReplicatedDataSourceBuilder(connectionString).Build();

    /// <summary>Creates a routed connection with the data source's read preference.</summary>
    /// <returns>A closed connection.</returns>
    public new RoutedConnection CreateConnection() => new(this, null);

    /// <summary>Creates a routed connection whose reads follow <paramref name="readPreference"/>.</summary>
    /// <param name="readPreference">Where the connection's reads may go.</param>
    /// <returns>A closed connection.</returns>
    public RoutedConnection CreateConnection(ReadPreference readPreference) => new(this, readPreference);

    /// <summary>Creates and opens a routed connection.</summary>
    /// <returns>An open connection.</returns>
    public new RoutedConnection OpenConnection()
    {
        var connection = CreateConnection();
        connection.Open();
        return connection;
    }

    /// <summary>Creates and opens a routed connection.</summary>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>An open connection.</returns>
    public new async ValueTask<RoutedConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = CreateConnection();
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    /// <summary>Returns what the topology monitor last saw of each host.</summary>
    /// <returns>One entry per configured host, in connection-string order.</returns>
    public IReadOnlyList<HostStatus> GetHosts()
    {
        var snapshot = Monitor.Snapshot;
        var result = new HostStatus[snapshot.Hosts.Length];
        for (var i = 0; i < result.Length; i++)
        {
            var host = snapshot.Hosts[i];
            result[i] = new HostStatus(
                host.Host.Endpoint.Name,
                host.Health,
                host.Health == HostHealth.Unknown ? null : host.IsInRecovery ? HostRole.Replica : HostRole.Primary,
                host.Timeline,
                snapshot.LagBytes[i],
                host.ReplayDelay,
                host.RoundTripTime,
                Array.IndexOf(snapshot.EligibleReplicas, host) >= 0,
                host.LastError);
        }

        return result;
    }

    /// <summary>Waits until every host has been probed once (the first command does this by itself).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes after the first probe round.</returns>
    public async Task WaitForTopologyAsync(CancellationToken cancellationToken = default) =>
        await Monitor.WaitForFirstRoundAsync(async: true, cancellationToken).ConfigureAwait(false);

    /// <summary>Probes every host now, without waiting for the interval or an unhealthy host's backoff.</summary>
    /// <param name="cancellationToken">Cancels the probes.</param>
    /// <returns>A task that completes when the new topology is published.</returns>
    public Task RefreshTopologyAsync(CancellationToken cancellationToken = default) => Monitor.RefreshAsync(cancellationToken);

    /// <inheritdoc />
    protected override DbConnection CreateDbConnection() => CreateConnection();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Stopping the monitor and the pools is asynchronous; Dispose has to wait for it.
            DisposeAsyncCore().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Monitor.DisposeAsync().ConfigureAwait(false);
        foreach (var host in _hosts)
        {
            await host.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsyncCore().ConfigureAwait(false);
    }
}
