using System.Data.Common;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RoutingData;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers a <see cref="ReplicatedDataSource"/> with the options pattern. Every <see cref="ITopologySource"/> in the
/// container (keyed with the same key for a keyed registration) is polled by the data source.
/// </summary>
public static class ReplicatedDbServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="ReplicatedDataSource"/> (singleton, disposed with the container) for a multi-host
    /// connection string, and forwards <see cref="DbDataSource"/> and a transient <see cref="DbConnection"/> to it.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="connectionString">The connection string naming every host.</param>
    /// <param name="configure">Further configuration of the builder (Npgsql callback, options), with the service provider.</param>
    /// <param name="serviceKey">A key to register more than one cluster (keyed services); null for the default registration.</param>
    /// <returns>The services.</returns>
    /// <exception cref="OptionsValidationException">At resolution or host start, when the options are invalid.</exception>
    public static IServiceCollection AddReplicatedDb(
        this IServiceCollection services,
        string connectionString,
        Action<IServiceProvider, ReplicatedDataSourceBuilder>? configure = null,
        object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(connectionString);
        return services.AddReplicatedDbCore(builder => builder.Configure(o => o.ConnectionString = connectionString), configure, serviceKey);
    }

    /// <summary>Registers a <see cref="ReplicatedDataSource"/> configured through <paramref name="configureOptions"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configureOptions">Sets the options, including <see cref="ReplicatedDbOptions.ConnectionString"/>.</param>
    /// <param name="configure">Further configuration of the builder, with the service provider.</param>
    /// <param name="serviceKey">A key to register more than one cluster; null for the default registration.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddReplicatedDb(
        this IServiceCollection services,
        Action<ReplicatedDbOptions> configureOptions,
        Action<IServiceProvider, ReplicatedDataSourceBuilder>? configure = null,
        object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configureOptions);
        return services.AddReplicatedDbCore(builder => builder.Configure(configureOptions), configure, serviceKey);
    }

    /// <summary>
    /// Registers a <see cref="ReplicatedDataSource"/> whose options are bound from a configuration section, e.g.
    /// <c>{ "ConnectionString": "Host=a,b,c;…", "DefaultReadPreference": "ReplicaPreferred", "MaxReplicaLag": "00:00:05" }</c>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The section to bind.</param>
    /// <param name="configure">Further configuration of the builder, with the service provider.</param>
    /// <param name="serviceKey">A key to register more than one cluster; null for the default registration.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddReplicatedDb(
        this IServiceCollection services,
        IConfiguration configuration,
        Action<IServiceProvider, ReplicatedDataSourceBuilder>? configure = null,
        object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddReplicatedDbCore(builder => builder.Configure(options => RoutingData.DependencyInjection.ReplicatedDbOptionsBinder.Bind(configuration, options)), configure, serviceKey);
    }

    private static IServiceCollection AddReplicatedDbCore(
        this IServiceCollection services,
        Action<OptionsBuilder<ReplicatedDbOptions>> configureOptions,
        Action<IServiceProvider, ReplicatedDataSourceBuilder>? configure,
        object? serviceKey)
    {
        // Each cluster gets named options; the unkeyed registration uses the default name.
        var name = serviceKey is null ? Options.Options.DefaultName : "RoutingData:" + serviceKey;
        var optionsBuilder = services.AddOptions<ReplicatedDbOptions>(name);
        configureOptions(optionsBuilder);
        optionsBuilder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReplicatedDbOptions>, ReplicatedDbOptionsValidator>());

        ReplicatedDataSource Create(IServiceProvider provider)
        {
            var options = provider.GetRequiredService<IOptionsMonitor<ReplicatedDbOptions>>().Get(name);
            var builder = new ReplicatedDataSourceBuilder(options)
                .UseLoggerFactory(provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance)
                .UseTimeProvider(provider.GetService<TimeProvider>() ?? TimeProvider.System);

            // Topology sources registered in the container (keyed alike for a keyed cluster); the container owns them.
            var sources = serviceKey is null ? provider.GetServices<ITopologySource>() : provider.GetKeyedServices<ITopologySource>(serviceKey);
            foreach (var source in sources)
            {
                builder.UseTopologySource(source);
            }

            configure?.Invoke(provider, builder);
            return builder.Build();
        }

        // One consistency session per DI scope (a web request): every connection resolved in the scope reads its writes.
        if (serviceKey is null)
        {
            services.TryAddSingleton(Create);
            services.TryAddSingleton<DbDataSource>(static provider => provider.GetRequiredService<ReplicatedDataSource>());
            services.TryAddScoped<ConsistencySession>();
            services.TryAddTransient<DbConnection>(static provider =>
                provider.GetRequiredService<ReplicatedDataSource>().CreateConnection(provider.GetRequiredService<ConsistencySession>()));
        }
        else
        {
            services.TryAddKeyedSingleton(serviceKey, (provider, _) => Create(provider));
            services.TryAddKeyedSingleton<DbDataSource>(serviceKey, static (provider, key) => provider.GetRequiredKeyedService<ReplicatedDataSource>(key));
            services.TryAddKeyedScoped<ConsistencySession>(serviceKey);
            services.TryAddKeyedTransient<DbConnection>(serviceKey, static (provider, key) =>
                provider.GetRequiredKeyedService<ReplicatedDataSource>(key).CreateConnection(provider.GetRequiredKeyedService<ConsistencySession>(key)));
        }

        return services;
    }
}
