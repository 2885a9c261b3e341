using Npgsql;

namespace RoutingData.Testing.Consistency;

/// <summary>The baselines RoutingData is compared with, built on plain Npgsql.</summary>
public static class NpgsqlSystems
{
    /// <summary>Everything on the primary: consistent by construction, no read scale-out (the overhead baseline).</summary>
    /// <param name="cluster">The cluster.</param>
    /// <param name="configure">Changes the connection settings (pool sizes, reset on close, …), e.g. to match another system's.</param>
    /// <returns>The system.</returns>
    public static IConsistencySystem PrimaryOnly(PostgresCluster cluster, Action<NpgsqlConnectionStringBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var dataSource = NpgsqlDataSource.Create(Configure(cluster.Primary.ConnectionString, configure));
        return new DataSourceSystem("raw Npgsql (primary only)", cluster, dataSource, static (ds, _) => ds.OpenConnectionAsync(), static (ds, _) => ds.OpenConnectionAsync());
    }

    /// <summary>
    /// Npgsql's multi-host data source as its documentation suggests for read scale-out: writes with
    /// <c>TargetSessionAttributes.Primary</c>, reads with <c>PreferStandby</c> and <c>Load Balance Hosts</c>.
    /// </summary>
    /// <param name="cluster">The cluster.</param>
    /// <param name="configure">Changes the connection settings (pool sizes, reset on close, …), e.g. to match another system's.</param>
    /// <returns>The system.</returns>
    public static IConsistencySystem MultiHost(PostgresCluster cluster, Action<NpgsqlConnectionStringBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var builder = new NpgsqlDataSourceBuilder(Configure(cluster.ConnectionString, configure));
        builder.ConnectionStringBuilder.LoadBalanceHosts = true;
        var dataSource = builder.BuildMultiHost();
        return new DataSourceSystem(
            "Npgsql multi-host (PreferStandby + load balancing)",
            cluster,
            dataSource,
            static (ds, _) => ((NpgsqlMultiHostDataSource)ds).OpenConnectionAsync(TargetSessionAttributes.Primary),
            static (ds, _) => ((NpgsqlMultiHostDataSource)ds).OpenConnectionAsync(TargetSessionAttributes.PreferStandby));
    }

    /// <summary>A system that reaches the cluster through a single endpoint, e.g. pgpool-II's read/write split.</summary>
    /// <param name="name">The name for reports.</param>
    /// <param name="cluster">The cluster behind the endpoint.</param>
    /// <param name="connectionString">The endpoint's connection string.</param>
    /// <param name="configure">Changes the connection settings (pool sizes, reset on close, …), e.g. to match another system's.</param>
    /// <returns>The system.</returns>
    public static IConsistencySystem SingleEndpoint(string name, PostgresCluster cluster, string connectionString, Action<NpgsqlConnectionStringBuilder>? configure = null)
    {
        var dataSource = NpgsqlDataSource.Create(Configure(connectionString, configure));
        return new DataSourceSystem(name, cluster, dataSource, static (ds, _) => ds.OpenConnectionAsync(), static (ds, _) => ds.OpenConnectionAsync());
    }

    private static string Configure(string connectionString, Action<NpgsqlConnectionStringBuilder>? configure)
    {
        if (configure is null)
        {
            return connectionString;
        }

        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        configure(builder);
        return builder.ConnectionString;
    }

    private sealed class DataSourceSystem(
        string name,
        PostgresCluster cluster,
        NpgsqlDataSource dataSource,
        Func<NpgsqlDataSource, int, ValueTask<NpgsqlConnection>> openForWrite,
        Func<NpgsqlDataSource, int, ValueTask<NpgsqlConnection>> openForRead) : IConsistencySystem
    {
        public string Name { get; } = name;

        internal NpgsqlDataSource DataSource { get; } = dataSource;

        internal PostgresCluster Cluster { get; } = cluster;

        internal Func<NpgsqlDataSource, int, ValueTask<NpgsqlConnection>> OpenForWrite { get; } = openForWrite;

        internal Func<NpgsqlDataSource, int, ValueTask<NpgsqlConnection>> OpenForRead { get; } = openForRead;

        public IConsistencyClient CreateClient(int session) => new Client(this, session);

        public ValueTask DisposeAsync() => DataSource.DisposeAsync();

        private sealed class Client(DataSourceSystem system, int session) : IConsistencyClient
        {
            public Task<OperationResult> WriteAsync(int key, CancellationToken cancellationToken) => RunAsync(system.OpenForWrite, KeyValueSql.Write, key, cancellationToken);

            public Task<OperationResult> ReadAsync(int key, CancellationToken cancellationToken) => RunAsync(system.OpenForRead, KeyValueSql.Read, key, cancellationToken);

            private async Task<OperationResult> RunAsync(Func<NpgsqlDataSource, int, ValueTask<NpgsqlConnection>> open, string sql, int key, CancellationToken cancellationToken)
            {
                // One connection per operation, as a web request would do.
                var connection = await open(system.DataSource, session).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
#pragma warning disable CA2100 // Fixed workload SQL.
                    using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
                    command.Parameters.AddWithValue("k", key);
                    return await KeyValueSql.ExecuteAsync(command, system.Cluster, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }
}
