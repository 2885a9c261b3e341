using System.Diagnostics;
using System.Globalization;
using Npgsql;
using RoutingData.Testing;
using RoutingData.Testing.Consistency;

namespace RoutingData.ConsistencyCheck;

/// <summary>
/// Every replica past the lag bound: reads fall back to the primary. Many readers and a few writers share a primary pool
/// of 20; the same run with fallback reads bounded (the default: half the pool, the rest shed) and unbounded (queueing
/// for the pool with the writes). What to look at: the writers' latency, and how many reads were served and shed.
/// </summary>
internal static class ReplicasOutScenario
{
    private const int PoolSize = 20;

    public static async Task RunAsync(string[] args)
    {
        string? Value(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var readers = int.Parse(Value("--readers") ?? "48", CultureInfo.InvariantCulture);
        var writers = int.Parse(Value("--writers") ?? "4", CultureInfo.InvariantCulture);
        var seconds = int.Parse(Value("--seconds") ?? "8", CultureInfo.InvariantCulture);
        var readMs = int.Parse(Value("--read-ms") ?? "20", CultureInfo.InvariantCulture);

        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 2 });
        await cluster.Primary.ExecuteAsync(ConsistencyWorkload.SetupSql(50));
        await cluster.WaitForReplicasAsync();
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(TimeSpan.FromSeconds(3));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cluster: 1 primary + 2 replicas 3 s behind (MaxReplicaLag 1 s: every replica out); primary pool {PoolSize}; {readers} readers (a {readMs} ms read each, open/execute/close), {writers} writers; {seconds} s per row"));
        Console.WriteLine("| fallback reads may hold | writes/s | write p50 ms | write p99 ms | reads served/s | reads shed/s | most fallback reads holding or queueing for a primary connection |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var limit in new int?[] { int.MaxValue, null, int.MaxValue, null })
        {
            await RunOnceAsync(cluster, limit, readers, writers, TimeSpan.FromSeconds(seconds), readMs);
        }
    }

    private static async Task RunOnceAsync(PostgresCluster cluster, int? limit, int readers, int writers, TimeSpan duration, int readMs)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { MaxPoolSize = PoolSize, Timeout = 30 }.ConnectionString;
        var builder = new ReplicatedDataSourceBuilder(connectionString);
        builder.Options.MaxReplicaLag = TimeSpan.FromSeconds(1);
        builder.Options.MaxFallbackReadConnections = limit;
        builder.Options.TopologyProbeInterval = TimeSpan.FromMilliseconds(200);
        await using var dataSource = builder.Build();
        await dataSource.WaitForTopologyAsync();

        using var stop = new CancellationTokenSource();
        var writeLatencies = new List<double>[writers];
        long served = 0, shed = 0;

        async Task WriteAsync(int writer)
        {
            var latencies = writeLatencies[writer] = [];
            var key = 1 + writer;
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                await using var connection = await dataSource.OpenConnectionAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = $"UPDATE kv SET version = version + 1 WHERE k = {key}";
                await command.ExecuteNonQueryAsync();
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        // Each reader keeps the most it saw; the row shows the most of all.
        async Task<int> ReadAsync(int reader)
        {
            var mostHeld = 0;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await using var connection = await dataSource.OpenConnectionAsync();
                    await using var command = connection.CreateCommand();
                    command.CommandText = string.Create(CultureInfo.InvariantCulture, $"SELECT version, pg_catalog.pg_sleep({readMs / 1000.0}) FROM kv WHERE k = {1 + (reader % 50)}");
                    await command.ExecuteScalarAsync();
                    Interlocked.Increment(ref served);
                    mostHeld = Math.Max(mostHeld, dataSource.GetHosts().Sum(h => h.FallbackReadConnections));
                }
                catch (ReadsShedException)
                {
                    Interlocked.Increment(ref shed);
                    await Task.Delay(readMs); // A client told 503 backs off before it asks again.
                }
            }

            return mostHeld;
        }

        // Wait until every replica is out before measuring.
        while (dataSource.GetHosts() is var hosts && hosts.Any(h => h.TakesReads))
        {
            await cluster.Primary.ExecuteAsync("UPDATE kv SET version = version + 1 WHERE k = 50");
            await Task.Delay(50);
        }

        stop.CancelAfter(duration);
        var writing = new List<Task>();
        for (var i = 0; i < writers; i++)
        {
            writing.Add(WriteAsync(i));
        }

        var reading = new List<Task<int>>();
        for (var i = 0; i < readers; i++)
        {
            reading.Add(ReadAsync(i));
        }

        await Task.WhenAll(writing);
        var mostHeld = (await Task.WhenAll(reading)).Max();
        var all = writeLatencies.SelectMany(l => l).Order().ToArray();
        double Percentile(double p) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)(p * all.Length))];
        var label = limit is null ? string.Create(CultureInfo.InvariantCulture, $"{PoolSize / 2} (default: half the pool; the rest shed)") : "unbounded (they queue for the pool with the writes)";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {all.Length / duration.TotalSeconds:0} | {Percentile(0.5):0.0} | {Percentile(0.99):0.0} | {served / duration.TotalSeconds:0} | {shed / duration.TotalSeconds:0} | {mostHeld} |"));
    }
}
