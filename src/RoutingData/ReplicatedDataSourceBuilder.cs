using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Polly;
using RoutingData.Internal;
using RoutingData.Topology;
using RoutingData.Topology.Sources;

namespace RoutingData;

/// <summary>
/// Builds a <see cref="ReplicatedDataSource"/>. One <see cref="NpgsqlDataSourceBuilder"/> callback configures
/// every host's data source, so type mappings, TLS and password providers apply everywhere.
/// </summary>
public sealed class ReplicatedDataSourceBuilder
{
    private readonly List<Action<NpgsqlDataSourceBuilder>> _configureNpgsql = [];
    private readonly List<ITopologySource> _topologySources = [];
    private ILoggerFactory _loggerFactory = NullLoggerFactory.Instance;
    private TimeProvider _timeProvider = TimeProvider.System;
    private Action<ResiliencePipelineBuilder>? _configureResilience; // Null: the defaults.

    /// <summary>Starts from a multi-host connection string (<c>Host=a:5432,b:5432;…</c>) and default options.</summary>
    /// <param name="connectionString">The connection string naming every host.</param>
    public ReplicatedDataSourceBuilder(string connectionString)
        : this(new ReplicatedDbOptions { ConnectionString = connectionString })
    {
    }

    /// <summary>Starts from options (for example bound from configuration).</summary>
    /// <param name="options">The options; copied at <see cref="Build"/>.</param>
    public ReplicatedDataSourceBuilder(ReplicatedDbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>Gets the options the data source will be built with.</summary>
    public ReplicatedDbOptions Options { get; }

    /// <summary>Adds a callback that configures the <see cref="NpgsqlDataSourceBuilder"/> of every host.</summary>
    /// <param name="configure">The callback; called once per host (and once per host for the monitor's probe data source).</param>
    /// <returns>This builder.</returns>
    public ReplicatedDataSourceBuilder ConfigureNpgsql(Action<NpgsqlDataSourceBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _configureNpgsql.Add(configure);
        return this;
    }

    /// <summary>
    /// Composes the Polly pipeline every routed command runs through, replacing the default
    /// (<see cref="RoutingResilienceExtensions.AddRoutingDataDefaults"/>: wait for a primary during a failover, then
    /// reroute what is safe to run again). To extend the defaults, call <c>AddRoutingDataDefaults()</c> in
    /// <paramref name="configure"/> and add your strategies before it (around the whole command, e.g. an overall
    /// timeout) or after it (around each attempt on one host). Without <see cref="RoutingResilienceExtensions.AddReroute"/> no command runs twice.
    /// </summary>
    /// <param name="configure">Adds strategies to the pipeline's builder.</param>
    /// <returns>This builder.</returns>
    /// <example><code>
    /// builder.ConfigureResilience(pipeline => pipeline
    ///     .AddTimeout(TimeSpan.FromSeconds(10))
    ///     .AddPrimaryWait(new PrimaryWaitStrategyOptions { MaxWait = TimeSpan.FromSeconds(2) })
    ///     .AddReroute(new RerouteStrategyOptions { OnReroute = args => { Console.WriteLine(args.Cause); return default; } }));
    /// </code></example>
    public ReplicatedDataSourceBuilder ConfigureResilience(Action<ResiliencePipelineBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _configureResilience = configure;
        return this;
    }

    /// <summary>Sets the logger factory for RoutingData's and Npgsql's logs.</summary>
    /// <param name="loggerFactory">The logger factory.</param>
    /// <returns>This builder.</returns>
    public ReplicatedDataSourceBuilder UseLoggerFactory(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _loggerFactory = loggerFactory;
        return this;
    }

    /// <summary>Sets the time provider for probe intervals and backoff.</summary>
    /// <param name="timeProvider">The time provider.</param>
    /// <returns>This builder.</returns>
    public ReplicatedDataSourceBuilder UseTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _timeProvider = timeProvider;
        return this;
    }

    /// <summary>Sets where reads go by default.</summary>
    /// <param name="readPreference">The read preference.</param>
    /// <returns>This builder.</returns>
    public ReplicatedDataSourceBuilder UseReadPreference(ReadPreference readPreference)
    {
        Options.DefaultReadPreference = readPreference;
        return this;
    }

    /// <summary>Sets how reads are spread over replicas.</summary>
    /// <param name="strategy">The strategy.</param>
    /// <returns>This builder.</returns>
    public ReplicatedDataSourceBuilder UseLoadBalancing(LoadBalancingStrategy strategy)
    {
        Options.LoadBalancing = strategy;
        return this;
    }

    /// <summary>Bounds how far behind a replica may be and still take reads.</summary>
    /// <param name="maxLag">The most replay time behind; null for no time bound.</param>
    /// <param name="maxLagBytes">The most WAL bytes behind; null for no byte bound.</param>
    /// <returns>This builder.</returns>
    public ReplicatedDataSourceBuilder UseMaxReplicaLag(TimeSpan? maxLag, long? maxLagBytes = null)
    {
        Options.MaxReplicaLag = maxLag;
        Options.MaxReplicaLagBytes = maxLagBytes;
        return this;
    }

    /// <summary>
    /// Adds a source of topology hints (a cluster manager, DNS, a cloud API) that the monitor polls every
    /// <see cref="ReplicatedDbOptions.TopologySourcePollInterval"/>. What it says is confirmed by a probe before anything
    /// is routed on it; see <see cref="ITopologySource"/>. The data source does not dispose it.
    /// </summary>
    /// <param name="source">The source.</param>
    /// <returns>This builder.</returns>
    public ReplicatedDataSourceBuilder UseTopologySource(ITopologySource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        _topologySources.Add(source);
        return this;
    }

    /// <summary>Polls Patroni's REST API for the leader: adds <paramref name="endpoints"/> to <see cref="ReplicatedDbOptions.PatroniEndpoints"/>.</summary>
    /// <param name="endpoints">Patroni REST endpoints, e.g. <c>http://db1:8008</c>; the next is tried when one does not answer.</param>
    /// <returns>This builder.</returns>
    public ReplicatedDataSourceBuilder UsePatroni(params Uri[] endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        foreach (var endpoint in endpoints)
        {
            Options.PatroniEndpoints.Add(endpoint);
        }

        return this;
    }

    /// <summary>Validates the options, builds one Npgsql data source per host and starts the topology monitor.</summary>
    /// <returns>The data source.</returns>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem (never the password).</exception>
    public ReplicatedDataSource Build()
    {
        var options = Options.Clone();
        var problems = ReplicatedDbOptionsValidator.Validate(options, out var template, out var endpoints);
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid RoutingData configuration: " + string.Join(" ", problems));
        }

        var probeTimeoutSeconds = (int)Math.Max(1, Math.Ceiling(options.TopologyProbeTimeout.TotalSeconds));
        var internalLogs = new Diagnostics.InternalLoggerFactory(_loggerFactory);
        var hosts = new HostRuntime[endpoints.Count];
        for (var i = 0; i < hosts.Length; i++)
        {
            var endpoint = endpoints[i];
            var weight = WeightOf(options, endpoint);
            hosts[i] = new HostRuntime(
                i,
                endpoint,
                BuildNpgsql(ConnectionStrings.ForHost(template!, endpoint, pooling: true, timeoutSeconds: null), endpoint.Name, _loggerFactory),
                BuildNpgsql(ConnectionStrings.ForHost(template!, endpoint, pooling: false, probeTimeoutSeconds), endpoint.Name + " (probe)", internalLogs),
                weight,
                BuildNpgsql(ConnectionStrings.ForHost(template!, endpoint, pooling: true, timeoutSeconds: null, readOnly: true), endpoint.Name + " (reads)", _loggerFactory),
                BuildNpgsql(ConnectionStrings.ForHost(template!, endpoint, pooling: true, timeoutSeconds: null), endpoint.Name + " (internal)", internalLogs));
        }

        var sources = _topologySources.Select(s => new TopologySourceRegistration(s, Owned: false)).ToList();
        if (options.PatroniEndpoints.Count > 0)
        {
            sources.Insert(0, new TopologySourceRegistration(new PatroniTopologySource(options.PatroniEndpoints, options.TopologyProbeTimeout), Owned: true));
        }

        var pipeline = new ResiliencePipelineBuilder { Name = "RoutingData", TimeProvider = _timeProvider };
        RerouteStrategyOptions? defaultReroute = null;
        if (_configureResilience is null)
        {
            defaultReroute = new RerouteStrategyOptions();
            pipeline.AddDefaultStrategies(defaultReroute);
        }
        else
        {
            _configureResilience(pipeline);
        }

        return new ReplicatedDataSource(options, template!, hosts, _loggerFactory, _timeProvider, pipeline.Build(), sources, defaultReroute);
    }

    /// <summary>The weight under <c>host:port</c>, else under the host alone, else 1.</summary>
    private static int WeightOf(ReplicatedDbOptions options, HostEndpoint endpoint) =>
        options.ReplicaWeights.TryGetValue(endpoint.Name, out var exact) ? exact
        : options.ReplicaWeights.TryGetValue(endpoint.Host, out var byHost) ? byHost
        : 1;

    private NpgsqlDataSource BuildNpgsql(string connectionString, string name, ILoggerFactory loggerFactory)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString) { Name = string.Create(CultureInfo.InvariantCulture, $"RoutingData {name}") };
        builder.UseLoggerFactory(loggerFactory);

        // Before the application's callbacks, so a tracing configuration of its own wins.
        RoutingDiagnostics.ConfigureNpgsqlTracing(builder, internalConnections: loggerFactory is Diagnostics.InternalLoggerFactory);
        foreach (var configure in _configureNpgsql)
        {
            configure(builder);
        }

        return builder.Build();
    }
}
