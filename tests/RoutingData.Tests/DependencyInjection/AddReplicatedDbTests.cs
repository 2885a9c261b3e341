using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RoutingData.Testing.Xunit;
using Xunit;

namespace RoutingData.Tests.DependencyInjection;

public sealed class AddReplicatedDbTests(RoutingClusterFixture fixture) : ClusterTestBase, IClassFixture<RoutingClusterFixture>
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Options_bind_from_configuration_and_the_data_source_routes()
    {
        var cluster = UseShared(fixture.Cluster);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Db:ConnectionString"] = cluster.ConnectionString,
            ["Db:DefaultReadPreference"] = "ReplicaPreferred",
            ["Db:LoadBalancing"] = "LeastOutstanding",
            ["Db:MaxReplicaLag"] = "00:00:05",
            ["Db:TopologyProbeInterval"] = "00:00:00.200",
            ["Db:WritingFunctions:0"] = "my_writer",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddReplicatedDb(configuration.GetSection("Db"));
        await using var provider = services.BuildServiceProvider();

        var dataSource = provider.GetRequiredService<ReplicatedDataSource>();
        Assert.Same(dataSource, provider.GetRequiredService<DbDataSource>());
        Assert.Equal(LoadBalancingStrategy.LeastOutstanding, dataSource.Options.LoadBalancing);
        Assert.Equal(TimeSpan.FromSeconds(5), dataSource.Options.MaxReplicaLag);
        Assert.Contains("my_writer", dataSource.Options.WritingFunctions);

        await using var connection = provider.GetRequiredService<DbConnection>();
        Assert.IsType<RoutedConnection>(connection);
        Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT pg_is_in_recovery()"));
    }

    [Fact]
    public async Task Replica_weights_from_configuration_name_the_host_alone_since_configuration_keys_cannot_hold_a_colon()
    {
        // Every replica of the shared cluster is on 127.0.0.1: weight 0 under the bare host takes them all out of the reads.
        var cluster = UseShared(fixture.Cluster);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Db:ConnectionString"] = cluster.ConnectionString,
            ["Db:LoadBalancing"] = "Weighted",
            ["Db:TopologyProbeInterval"] = "00:00:00.200",
            [$"Db:ReplicaWeights:{cluster.Replicas[0].Address}"] = "0",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddReplicatedDb(configuration.GetSection("Db"));
        await using var provider = services.BuildServiceProvider();

        var dataSource = provider.GetRequiredService<ReplicatedDataSource>();
        Assert.Equal(0, dataSource.Options.ReplicaWeights[cluster.Replicas[0].Address]);
        await dataSource.WaitForTopologyAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 10; i++)
        {
            await using var connection = await dataSource.OpenConnectionAsync(TestContext.Current.CancellationToken);
            Assert.False(await connection.ExecuteScalarAsync<bool>("SELECT pg_is_in_recovery()"));
        }
    }

    [Fact]
    public async Task Keyed_registrations_serve_two_clusters_and_are_disposed_with_the_container()
    {
        var cluster = UseShared(fixture.Cluster);
        var services = new ServiceCollection();
        services.AddReplicatedDb(cluster.ConnectionString, serviceKey: "orders");
        var single = new Npgsql.NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Host = $"127.0.0.1:{cluster.Primary.Port}" }.ConnectionString;
        services.AddReplicatedDb(o => o.ConnectionString = single, serviceKey: "single");
        var provider = services.BuildServiceProvider();

        var orders = provider.GetRequiredKeyedService<ReplicatedDataSource>("orders");
        var singleSource = provider.GetRequiredKeyedService<ReplicatedDataSource>("single");
        Assert.NotSame(orders, singleSource);
        Assert.Same(orders, provider.GetRequiredKeyedService<DbDataSource>("orders"));
        Assert.Equal(3, orders.GetHosts().Count);
        Assert.Single(singleSource.GetHosts());
        Assert.Null(provider.GetService<ReplicatedDataSource>());

        await using (var connection = singleSource.CreateConnection())
        {
            Assert.Equal(cluster.Primary.Port, await connection.ExecuteScalarAsync<int>("SELECT inet_server_port()"));
        }

        await provider.DisposeAsync();
        await using var afterDispose = orders.CreateConnection();
        await Assert.ThrowsAnyAsync<ObjectDisposedException>(() => afterDispose.ExecuteScalarAsync<int>("SELECT 1 /* routing:primary */"));
    }

    [Fact]
    public void Invalid_options_fail_validation_on_start_with_every_problem()
    {
        var services = new ServiceCollection();
        services.AddReplicatedDb(o =>
        {
            o.ConnectionString = "Host=a:99999;Username=app;Password=topsecret";
            o.TopologyProbeTimeout = TimeSpan.Zero;
        });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Host 'a:99999' has an invalid port '99999'", error.Message, StringComparison.Ordinal);
        Assert.Contains("TopologyProbeTimeout is 00:00:00; it must be positive", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("topsecret", error.Message, StringComparison.Ordinal);
        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<ReplicatedDataSource>());
    }

    [Fact]
    public void Every_value_in_configuration_that_does_not_convert_is_reported_at_once_naming_its_setting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Db:ConnectionString"] = "Host=a;Username=app;Password=topsecret",
            ["Db:DefaultReadPreference"] = "Secondary",
            ["Db:TopologyProbeInterval"] = "soon",
            ["Db:MaxReplicaLagBytes"] = "lots",
            ["Db:TopologyProbeTimeout"] = "00:00:00",
            ["Db:LostWritesPolicy"] = "Retry",
        }).Build();
        var services = new ServiceCollection();
        services.AddReplicatedDb(configuration.GetSection("Db"));
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Db:DefaultReadPreference is 'Secondary', which is not one of ReplicaPreferred", error.Message, StringComparison.Ordinal);
        Assert.Contains("Db:TopologyProbeInterval is 'soon', which is not a TimeSpan", error.Message, StringComparison.Ordinal);
        Assert.Contains("Db:MaxReplicaLagBytes is 'lots', which is not a Int64", error.Message, StringComparison.Ordinal);
        Assert.Contains("TopologyProbeTimeout is 00:00:00; it must be positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("Db:LostWritesPolicy is 'Retry', which is not one of Throw, Ignore.", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("topsecret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Valid_configuration_binds_every_kind_of_setting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Db:ConnectionString"] = "Host=a,b;Username=app",
            ["Db:DefaultReadPreference"] = "Nearest",
            ["Db:TopologyProbeInterval"] = "00:00:02",
            ["Db:MaxReplicaLagBytes"] = "1024",
            ["Db:MaxReplicaLag"] = "00:00:05",
            ["Db:ReadYourWrites"] = "false",
            ["Db:ReadOnlyFunctions:0"] = "my_report",
            ["Db:LostWritesPolicy"] = "Ignore",
        }).Build();
        var services = new ServiceCollection();
        services.AddReplicatedDb(configuration.GetSection("Db"));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<ReplicatedDbOptions>>().Value;
        Assert.Equal(ReadPreference.Nearest, options.DefaultReadPreference);
        Assert.Equal(TimeSpan.FromSeconds(2), options.TopologyProbeInterval);
        Assert.Equal(1024L, options.MaxReplicaLagBytes);
        Assert.Equal(TimeSpan.FromSeconds(5), options.MaxReplicaLag);
        Assert.False(options.ReadYourWrites);
        Assert.Equal(["my_report"], options.ReadOnlyFunctions);
        Assert.Equal(LostWritesPolicy.Ignore, options.LostWritesPolicy);
    }
}
