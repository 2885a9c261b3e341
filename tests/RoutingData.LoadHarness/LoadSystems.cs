using Npgsql;
using RoutingData.ConsistencyCheck;
using RoutingData.Testing;
using RoutingData.Testing.Consistency;
using RoutingData.Testing.Pgpool;

namespace RoutingData.LoadHarness;

/// <summary>The systems under test over one cluster, built with identical pool settings.</summary>
internal sealed class LoadSystems : IAsyncDisposable
{
    public const string Raw = "raw Npgsql (primary)";
    public const string MultiHost = "Npgsql multi-host";
    public const string Pgpool = "pgpool-II";
    public const string RoutingData = "RoutingData";

    private LoadSystems(List<IConsistencySystem> systems) => All = systems;

    /// <summary>Gets the systems, in the order of <see cref="HarnessOptions.AllSystems"/>.</summary>
    public IReadOnlyList<IConsistencySystem> All { get; }

    /// <summary>The connection settings every system gets, as the report states them.</summary>
    public static string PoolSettings(HarnessOptions options) =>
        $"Pooling on, Min Pool Size 0, Max Pool Size {options.MaxPoolSize}, No Reset On Close {(!options.ResetOnClose).ToString().ToLowerInvariant()}, Multiplexing off, Timeout 5 s";

    public static void ConfigurePool(NpgsqlConnectionStringBuilder builder, HarnessOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Pooling = true;
        builder.MinPoolSize = 0;
        builder.MaxPoolSize = options.MaxPoolSize;
        builder.NoResetOnClose = !options.ResetOnClose;
        builder.Multiplexing = false;
        builder.Timeout = 5;
    }

    /// <summary>Builds the selected systems; <paramref name="pgpool"/> is null where pgpool-II is not available.</summary>
    public static async Task<LoadSystems> CreateAsync(PostgresCluster cluster, PgpoolServer? pgpool, HarnessOptions options, CancellationToken cancellationToken)
    {
        var systems = new List<IConsistencySystem>();
        try
        {
            foreach (var name in options.Systems)
            {
                switch (name)
                {
                    case "raw":
                        systems.Add(new NamedSystem(Raw, NpgsqlSystems.PrimaryOnly(cluster, b => ConfigurePool(b, options))));
                        break;
                    case "multihost":
                        systems.Add(new NamedSystem(MultiHost, NpgsqlSystems.MultiHost(cluster, b => ConfigurePool(b, options))));
                        break;
                    case "pgpool" when pgpool is not null:
                        systems.Add(NpgsqlSystems.SingleEndpoint(Pgpool, cluster, pgpool.ConnectionString, b => ConfigurePool(b, options)));
                        break;
                    case "routingdata":
                        var connectionString = new NpgsqlConnectionStringBuilder(cluster.ConnectionString);
                        ConfigurePool(connectionString, options);
                        var dataSource = new ReplicatedDataSourceBuilder(connectionString.ConnectionString).Build();
                        systems.Add(new RoutingDataSystem(dataSource, cluster, RoutingData));
                        await dataSource.WaitForTopologyAsync(cancellationToken).ConfigureAwait(false);
                        break;
                }
            }
        }
        catch
        {
            foreach (var system in systems)
            {
                await system.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        return new LoadSystems(systems);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var system in All)
        {
            await system.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A system under a shorter name for tables and charts.</summary>
    private sealed class NamedSystem(string name, IConsistencySystem inner) : IConsistencySystem
    {
        public string Name { get; } = name;

        public IConsistencyClient CreateClient(int session) => inner.CreateClient(session);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
