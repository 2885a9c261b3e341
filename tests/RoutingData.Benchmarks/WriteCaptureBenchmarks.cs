using BenchmarkDotNet.Attributes;
using Npgsql;
using RoutingData.Testing;

namespace RoutingData.Benchmarks;

/// <summary>
/// A single-row UPDATE on the primary: raw Npgsql against RoutingData without a session, with the default background
/// capture (the write only records its acknowledgement; one shared query per interval reads the position), and with
/// the same-round-trip capture (<c>[UPDATE; SELECT pg_current_wal_insert_lsn()]</c> behind an error barrier).
/// </summary>
[MemoryDiagnoser]
public class WriteCaptureBenchmarks
{
    private const string Sql = "UPDATE bench SET v = v + 1 WHERE k = 1";
    private PostgresCluster _cluster = null!;
    private NpgsqlDataSource _raw = null!;
    private NpgsqlConnection _rawConnection = null!;
    private NpgsqlCommand _rawCommand = null!;
    private ReplicatedDataSource _withoutCapture = null!;
    private ReplicatedDataSource _withCapture = null!;
    private ReplicatedDataSource _inBand = null!;
    private RoutedConnection _withoutConnection = null!;
    private RoutedConnection _withConnection = null!;
    private RoutedConnection _inBandConnection = null!;
    private RoutedCommand _withoutCommand = null!;
    private RoutedCommand _withCommand = null!;
    private RoutedCommand _inBandCommand = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 1 });
        await _cluster.Primary.ExecuteAsync("CREATE TABLE bench (k int PRIMARY KEY, v bigint); INSERT INTO bench VALUES (1, 0)");
        _raw = NpgsqlDataSource.Create(_cluster.Primary.ConnectionString);
        _rawConnection = await _raw.OpenConnectionAsync();
        _rawCommand = new NpgsqlCommand(Sql, _rawConnection);
        (_withoutCapture, _withoutConnection, _withoutCommand) = await RoutedAsync(readYourWrites: false, LsnCaptureMode.Background);
        (_withCapture, _withConnection, _withCommand) = await RoutedAsync(readYourWrites: true, LsnCaptureMode.Background);
        (_inBand, _inBandConnection, _inBandCommand) = await RoutedAsync(readYourWrites: true, LsnCaptureMode.SameRoundTrip);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _rawCommand.DisposeAsync();
        await _rawConnection.DisposeAsync();
        await _raw.DisposeAsync();
        await _withoutCommand.DisposeAsync();
        await _withoutConnection.DisposeAsync();
        await _withoutCapture.DisposeAsync();
        await _withCommand.DisposeAsync();
        await _withConnection.DisposeAsync();
        // How well the background capture coalesces: queries it ran against the writes it covered.
        Console.WriteLine($"// background captures: {_withCapture.Clock.Captures}");
        await _withCapture.DisposeAsync();
        await _inBandCommand.DisposeAsync();
        await _inBandConnection.DisposeAsync();
        await _inBand.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "raw Npgsql UPDATE on the primary")]
    public Task<int> Raw() => _rawCommand.ExecuteNonQueryAsync();

    [Benchmark(Description = "routed UPDATE, no session")]
    public Task<int> RoutedWithoutCapture() => _withoutCommand.ExecuteNonQueryAsync();

    [Benchmark(Description = "routed UPDATE + LSN capture (background, default)")]
    public Task<int> RoutedWithCapture() => _withCommand.ExecuteNonQueryAsync();

    [Benchmark(Description = "routed UPDATE + LSN capture (same round trip)")]
    public Task<int> RoutedWithInBandCapture() => _inBandCommand.ExecuteNonQueryAsync();

    private async Task<(ReplicatedDataSource, RoutedConnection, RoutedCommand)> RoutedAsync(bool readYourWrites, LsnCaptureMode mode)
    {
        var builder = new ReplicatedDataSourceBuilder(_cluster.ConnectionString);
        builder.Options.ReadYourWrites = readYourWrites;
        builder.Options.LsnCapture = mode;
        var dataSource = builder.Build();
        await dataSource.WaitForTopologyAsync();
        var connection = await dataSource.OpenConnectionAsync();
        var command = connection.CreateCommand();
        command.CommandText = Sql;
        await command.ExecuteNonQueryAsync();
        return (dataSource, connection, command);
    }
}
