using Npgsql;
using RoutingData.Testing;

namespace RoutingData.Benchmarks;

/// <summary>
/// Bytes allocated per <c>SELECT 1</c>, raw Npgsql against routed (default options), averaged over rounds that
/// alternate between the two. BenchmarkDotNet's per-benchmark figure wanders by a few hundred bytes from run to run
/// because Npgsql boxes its async state machines only when an await really suspends (timing); alternating many rounds
/// in one process averages that out. Run: <c>dotnet run -c Release --project tests/RoutingData.Benchmarks -- allocations</c>.
/// </summary>
internal static class AllocationProbe
{
    public static async Task RunAsync()
    {
        const int Operations = 20_000, Rounds = 5;
        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 1 });
        await using var routed = new ReplicatedDataSourceBuilder(cluster.ConnectionString).Build();
        await routed.WaitForTopologyAsync();
        await using var connection = await routed.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        await using var raw = NpgsqlDataSource.Create(cluster.Replicas[0].ConnectionString);
        await using var rawConnection = await raw.OpenConnectionAsync();
        await using var rawCommand = new NpgsqlCommand("SELECT 1", rawConnection);

        Func<Task>[] variants =
        [
            async () => await rawCommand.ExecuteScalarAsync(),
            async () => await command.ExecuteScalarAsync(),
            () => { rawCommand.ExecuteScalar(); return Task.CompletedTask; },
            () => { command.ExecuteScalar(); return Task.CompletedTask; },
        ];
        string[] names = ["raw Npgsql, async", "routed, async", "raw Npgsql, sync", "routed, sync"];
        var bytes = new double[variants.Length];
        for (var round = -1; round < Rounds; round++)
        {
            for (var v = 0; v < variants.Length; v++)
            {
                var before = GC.GetTotalAllocatedBytes(precise: true);
                for (var i = 0; i < Operations; i++)
                {
                    await variants[v]();
                }

                if (round >= 0)
                {
                    bytes[v] += (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)Operations / Rounds;
                }
            }
        }

        if (!string.Equals(command.LastRoute?.Host, $"{cluster.Replicas[0].Address}:{cluster.Replicas[0].Port}", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The routed SELECT 1 ran on {command.LastRoute}, not on the replica.");
        }

        Console.WriteLine("| variant | bytes per SELECT 1 (all threads, incl. the benchmark's own closure) |");
        Console.WriteLine("|---|---:|");
        for (var v = 0; v < variants.Length; v++)
        {
            Console.WriteLine($"| {names[v]} | {bytes[v]:F0} |");
        }
    }
}
