using System.Diagnostics;
using Npgsql;
using RoutingData.Testing;

namespace RoutingData.Benchmarks;

/// <summary>
/// Open, <c>SELECT 1</c>, close in a loop, raw Npgsql and routed alternating, for a CPU profile and bytes per operation:
/// <c>dotnet-trace collect --profile dotnet-sampled-thread-time -- dotnet tests/RoutingData.Benchmarks/bin/Release/net10.0/RoutingData.Benchmarks.dll open-close 20</c>.
/// </summary>
internal static class OpenCloseProfile
{
    public static async Task RunAsync(int seconds)
    {
        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 1 });
        var builder = new ReplicatedDataSourceBuilder(cluster.ConnectionString);
        builder.Options.ReadYourWrites = false;
        await using var routed = builder.Build();
        await routed.WaitForTopologyAsync();
        await using var raw = NpgsqlDataSource.Create(cluster.Replicas[0].ConnectionString);

        async Task Raw()
        {
            await using var connection = await raw.OpenConnectionAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync();
        }

        async Task Routed()
        {
            await using var connection = await routed.OpenConnectionAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync();
        }

        Func<Task>[] variants = [Raw, Routed];
        string[] names = ["raw Npgsql", "routed"];
        var bytes = new long[2];
        var operations = new long[2];
        var elapsed = new TimeSpan[2];
        var until = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < until)
        {
            for (var v = 0; v < variants.Length; v++)
            {
                var before = GC.GetTotalAllocatedBytes(precise: true);
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < 2_000; i++)
                {
                    await variants[v]();
                }

                elapsed[v] += Stopwatch.GetElapsedTime(started);
                bytes[v] += GC.GetTotalAllocatedBytes(precise: true) - before;
                operations[v] += 2_000;
            }
        }

        Console.WriteLine("| variant | operations | µs per open, SELECT 1, close | bytes per operation |");
        Console.WriteLine("|---|---:|---:|---:|");
        for (var v = 0; v < variants.Length; v++)
        {
            Console.WriteLine($"| {names[v]} | {operations[v]} | {elapsed[v].TotalMicroseconds / operations[v]:F1} | {bytes[v] / operations[v]} |");
        }
    }
}
