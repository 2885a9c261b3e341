using BenchmarkDotNet.Attributes;
using Npgsql;
using RoutingData.Testing;

namespace RoutingData.Benchmarks;

/// <summary>
/// Routed <c>SELECT 1</c> against raw Npgsql on the same replica, in the same run: the per-command cost of
/// classification, the snapshot read and replica selection. Each benchmark process starts its own cluster.
/// </summary>
[MemoryDiagnoser]
public class RoutingOverheadBenchmarks
{
    private PostgresCluster _cluster = null!;
    private NpgsqlDataSource _raw = null!;
    private ReplicatedDataSource _routed = null!;
    private NpgsqlConnection _rawConnection = null!;
    private NpgsqlCommand _rawCommand = null!;
    private RoutedConnection _routedConnection = null!;
    private RoutedCommand _routedCommand = null!;

    /// <summary>With sessions on, every routed command also captures a WAL position in the same round trip.</summary>
    [Params(false, true)]
    public bool ReadYourWrites { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 1 });
        var replica = _cluster.Replicas[0];
        _raw = NpgsqlDataSource.Create(replica.ConnectionString);

        // Only the replica takes reads, so both sides talk to the same server.
        var builder = new ReplicatedDataSourceBuilder(_cluster.ConnectionString);
        builder.Options.ReadYourWrites = ReadYourWrites;
        _routed = builder.Build();
        await _routed.WaitForTopologyAsync();

        _rawConnection = await _raw.OpenConnectionAsync();
        _rawCommand = new NpgsqlCommand("SELECT 1", _rawConnection);
        _routedConnection = await _routed.OpenConnectionAsync();
        _routedCommand = _routedConnection.CreateCommand();
        _routedCommand.CommandText = "SELECT 1";
        await _routedCommand.ExecuteScalarAsync();
        if (_routedCommand.LastRoute?.Host != $"{replica.Address}:{replica.Port}")
        {
            throw new InvalidOperationException($"Routed SELECT 1 ran on {_routedCommand.LastRoute}, not on the replica.");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _rawCommand.DisposeAsync();
        await _rawConnection.DisposeAsync();
        await _routedCommand.DisposeAsync();
        await _routedConnection.DisposeAsync();
        await _raw.DisposeAsync();
        await _routed.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "raw Npgsql: SELECT 1 on an open connection")]
    public async Task<object?> RawOpenConnection() => await _rawCommand.ExecuteScalarAsync();

    [Benchmark(Description = "routed: SELECT 1 on an open connection")]
    public async Task<object?> RoutedOpenConnection() => await _routedCommand.ExecuteScalarAsync();

    // Synchronous twins: Npgsql's async state machines are boxed only when an await really suspends, which depends on
    // timing, so async allocation figures wander by a few hundred bytes between runs. The sync path shows RoutingData's own.
    [Benchmark(Description = "raw Npgsql: SELECT 1 on an open connection (sync)")]
    public object? RawOpenConnectionSync() => _rawCommand.ExecuteScalar();

    [Benchmark(Description = "routed: SELECT 1 on an open connection (sync)")]
    public object? RoutedOpenConnectionSync() => _routedCommand.ExecuteScalar();

    [Benchmark(Description = "raw Npgsql: open, SELECT 1, close")]
    public async Task<object?> RawOpenExecuteClose()
    {
        await using var connection = await _raw.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        return await command.ExecuteScalarAsync();
    }

    [Benchmark(Description = "routed: open, SELECT 1, close")]
    public async Task<object?> RoutedOpenExecuteClose()
    {
        await using var connection = await _routed.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        return await command.ExecuteScalarAsync();
    }
}
