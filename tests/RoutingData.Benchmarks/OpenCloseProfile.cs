using System.Diagnostics;
using Npgsql;
using RoutingData.Testing;

namespace RoutingData.Benchmarks;

/// <summary>
/// Raw Npgsql and routed commands on the same replica, so that both see the same machine: open, <c>SELECT 1</c>, close
/// (sessions off and on), Npgsql multi-host's open, <c>SELECT 1</c>, close (<c>PreferStandby</c>), <c>SELECT 1</c> on an open
/// connection (async and sync), and raw <see cref="NpgsqlBatch"/> against raw <see cref="NpgsqlCommand"/> as a control. Each pair is timed interleaved (operation by operation) and in alternating
/// rounds of 1,000 operations; prints µs, client CPU, bytes and collections per operation and both routed/raw ratios. Also a CPU profile target:
/// <c>dotnet-trace collect --profile dotnet-sampled-thread-time -- dotnet tests/RoutingData.Benchmarks/bin/Release/net10.0/RoutingData.Benchmarks.dll open-close 20 "sessions on: open"</c> (the last argument keeps only the variants whose name contains it).
/// </summary>
internal static class OpenCloseProfile
{
    private const int Round = 1_000;

    public static async Task RunAsync(int seconds, string? only = null)
    {
        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 1 });
        var builder = new ReplicatedDataSourceBuilder(cluster.ConnectionString);
        builder.Options.ReadYourWrites = false;
        await using var routed = builder.Build();
        await routed.WaitForTopologyAsync();
        await using var sessions = new ReplicatedDataSourceBuilder(cluster.ConnectionString).Build();
        await sessions.WaitForTopologyAsync();
        await using var raw = NpgsqlDataSource.Create(cluster.Replicas[0].ConnectionString);

        // Npgsql multi-host as its documentation suggests for read scale-out; with one standby, PreferStandby reads land on
        // the same replica as the others.
        var multiHostBuilder = new NpgsqlDataSourceBuilder(cluster.ConnectionString);
        multiHostBuilder.ConnectionStringBuilder.LoadBalanceHosts = true;
        await using var multiHost = multiHostBuilder.BuildMultiHost();

        // Every sweep of the variants starts on fresh server backends (pools cleared, connections reopened): which backend
        // process a pool's connection lands on, and the core it shares, would otherwise bias a whole run one way.
        NpgsqlConnection rawOpen = null!;
        NpgsqlCommand rawCommand = null!;
        RoutedConnection routedOpen = null!;
        RoutedCommand routedCommand = null!;
        async Task ReconnectAsync()
        {
            if (rawOpen is not null)
            {
                await rawCommand.DisposeAsync();
                await rawOpen.DisposeAsync();
                await routedCommand.DisposeAsync();
                await routedOpen.DisposeAsync();
            }

            NpgsqlConnection.ClearAllPools();
            rawOpen = await raw.OpenConnectionAsync();
            rawCommand = new NpgsqlCommand("SELECT 1", rawOpen);
            routedOpen = await sessions.OpenConnectionAsync();
            routedCommand = routedOpen.CreateCommand();
            routedCommand.CommandText = "SELECT 1";
        }

        await ReconnectAsync();

        async Task OpenClose(System.Data.Common.DbDataSource source)
        {
            await using var connection = await source.OpenConnectionAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync();
        }

        async Task OpenCloseMultiHost()
        {
            await using var connection = await multiHost.OpenConnectionAsync(TargetSessionAttributes.PreferStandby);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync();
        }

        async Task OpenCloseBatch(NpgsqlDataSource source)
        {
            await using var connection = await source.OpenConnectionAsync();
            await using var batch = new NpgsqlBatch(connection) { BatchCommands = { new NpgsqlBatchCommand("SELECT 1") } };
            await batch.ExecuteScalarAsync();
        }

        // Pairs of (raw, routed): each ratio compares neighbours measured in the same rounds.
        (string Name, Func<Task> Run)[] variants =
        [
            ("raw Npgsql: open, SELECT 1, close", () => OpenClose(raw)),
            ("routed, sessions off: open, SELECT 1, close", () => OpenClose(routed)),
            ("raw Npgsql: open, SELECT 1, close", () => OpenClose(raw)),
            ("routed, sessions on: open, SELECT 1, close", () => OpenClose(sessions)),
            ("raw Npgsql: open, SELECT 1, close", () => OpenClose(raw)),
            ("Npgsql multi-host, PreferStandby: open, SELECT 1, close", () => OpenCloseMultiHost()),
            ("raw Npgsql: open, SELECT 1, close", () => OpenClose(raw)),
            ("control: raw Npgsql batch: open, SELECT 1, close", () => OpenCloseBatch(raw)),
            ("raw Npgsql: SELECT 1 on an open connection", () => rawCommand.ExecuteScalarAsync()),
            ("routed, sessions on: SELECT 1 on an open connection", () => routedCommand.ExecuteScalarAsync()),
            ("raw Npgsql: SELECT 1 on an open connection (sync)", () => { rawCommand.ExecuteScalar(); return Task.CompletedTask; }),
            ("routed, sessions on: SELECT 1 on an open connection (sync)", () => { routedCommand.ExecuteScalar(); return Task.CompletedTask; }),
        ];

        if (only is not null)
        {
            // A profile of one variant: the others would blur it.
            variants = Array.FindAll(variants, v => v.Name.Contains(only, StringComparison.Ordinal));
        }

        await using (var probe = await multiHost.OpenConnectionAsync(TargetSessionAttributes.PreferStandby))
        {
            if (probe.Port != cluster.Replicas[0].Port)
            {
                throw new InvalidOperationException($"Multi-host PreferStandby opened port {probe.Port}, not the replica's {cluster.Replicas[0].Port}.");
            }
        }

        if (routedCommand.ExecuteScalar() is not 1 || routedCommand.LastRoute?.Role != HostRole.Replica)
        {
            throw new InvalidOperationException($"The routed SELECT 1 ran on {routedCommand.LastRoute}, not on the replica.");
        }

        var bytes = new long[variants.Length];
        var operations = new long[variants.Length];
        var elapsed = new TimeSpan[variants.Length];
        var cpu = new TimeSpan[variants.Length];
        var collections = new int[variants.Length];
        var rounds = new List<double>[variants.Length];
        var interleaved = new List<double>[variants.Length];
        var interleavedTicks = new long[variants.Length];
        for (var v = 0; v < variants.Length; v++)
        {
            (rounds[v], interleaved[v]) = ([], []);
        }

        using var process = Process.GetCurrentProcess();
        var paired = only is null;
        var until = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < until)
        {
            await ReconnectAsync();
            foreach (var variant in variants)
            {
                for (var i = 0; i < 20; i++)
                {
                    await variant.Run(); // Warms the fresh connections up, untimed.
                }
            }

            // Operation by operation: each routed operation is timed next to a raw one, so drift of the machine at any time
            // scale longer than one operation cancels out of the pair's ratio.
            for (var v = 1; paired && v < variants.Length; v += 2)
            {
                long rawTicks = 0, routedTicks = 0;
                for (var i = 0; i < Round; i++)
                {
                    // Which one goes first alternates: neither always follows the other.
                    var first = i % 2 == 0 ? variants[v - 1] : variants[v];
                    var second = i % 2 == 0 ? variants[v] : variants[v - 1];
                    var t0 = Stopwatch.GetTimestamp();
                    await first.Run();
                    var t1 = Stopwatch.GetTimestamp();
                    await second.Run();
                    var t2 = Stopwatch.GetTimestamp();
                    rawTicks += i % 2 == 0 ? t1 - t0 : t2 - t1;
                    routedTicks += i % 2 == 0 ? t2 - t1 : t1 - t0;
                }

                interleaved[v - 1].Add(rawTicks);
                interleaved[v].Add(routedTicks);
                interleavedTicks[v - 1] += rawTicks;
                interleavedTicks[v] += routedTicks;
            }

            // Round by round, each variant alone: client CPU, bytes and collections per operation, and a second ratio.
            for (var v = 0; v < variants.Length; v++)
            {
                var before = GC.GetTotalAllocatedBytes(precise: true);
                process.Refresh();
                var cpuBefore = process.TotalProcessorTime;
                var gen0Before = GC.CollectionCount(0);
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < Round; i++)
                {
                    await variants[v].Run();
                }

                var took = Stopwatch.GetElapsedTime(started);
                elapsed[v] += took;
                rounds[v].Add(took.TotalMicroseconds);
                collections[v] += GC.CollectionCount(0) - gen0Before;
                process.Refresh();
                cpu[v] += process.TotalProcessorTime - cpuBefore;
                bytes[v] += GC.GetTotalAllocatedBytes(precise: true) - before;
                operations[v] += Round;
            }
        }

        await routedCommand.DisposeAsync();
        await routedOpen.DisposeAsync();
        await rawCommand.DisposeAsync();
        await rawOpen.DisposeAsync();
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load {MachineLoad()}; {operations[0]:N0} operations per variant in each mode");
        // Both ratios are medians over rounds of routed/raw in the same round: interleaved pairs each routed operation
        // with the raw one before it; in rounds, whole rounds of 1,000 sit next to each other.
        Console.WriteLine("| variant | µs per operation (interleaved) | routed / raw, interleaved | routed / raw, in rounds | client CPU µs per operation | routed / raw | bytes per operation | gen0 GCs per 1,000 |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (var v = 0; v < variants.Length; v++)
        {
            var isRouted = v % 2 == 1 && paired;
            var micros = paired ? Stopwatch.GetElapsedTime(0, interleavedTicks[v]).TotalMicroseconds / (interleaved[v].Count * Round) : elapsed[v].TotalMicroseconds / operations[v];
            var cpuMicros = cpu[v].TotalMicroseconds / operations[v];
            var ratio = isRouted ? $"**{MedianRatio(interleaved[v], interleaved[v - 1]):F3}**" : string.Empty;
            var roundRatio = isRouted ? $"{MedianRatio(rounds[v], rounds[v - 1]):F3}" : string.Empty;
            var cpuRatio = isRouted ? $"{cpuMicros / (cpu[v - 1].TotalMicroseconds / operations[v - 1]):F2}" : string.Empty;
            Console.WriteLine($"| {variants[v].Name} | {micros:F1} | {ratio} | {roundRatio} | {cpuMicros:F1} | {cpuRatio} | {bytes[v] / operations[v]:N0} | {1000.0 * collections[v] / operations[v]:F2} |");
        }
    }

    private static double MedianRatio(List<double> routed, List<double> raw)
    {
        var ratios = new double[routed.Count];
        for (var i = 0; i < ratios.Length; i++)
        {
            ratios[i] = routed[i] / raw[i];
        }

        Array.Sort(ratios);
        return ratios.Length % 2 == 1 ? ratios[ratios.Length / 2] : (ratios[(ratios.Length / 2) - 1] + ratios[ratios.Length / 2]) / 2;
    }

    private static string MachineLoad()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
