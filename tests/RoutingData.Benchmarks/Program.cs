using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/RoutingData.Benchmarks -- --filter '*' [--job short]
// dotnet run -c Release --project tests/RoutingData.Benchmarks -- allocations   (bytes per command, raw vs routed)
// dotnet run -c Release --project tests/RoutingData.Benchmarks -- open-close 20   (open, SELECT 1, close: µs and bytes, raw vs routed; for a CPU profile)
// dotnet run -c Release --project tests/RoutingData.Benchmarks -- efcore   (LINQ query: UseReplicatedDb vs UseNpgsql, alternating rounds)
if (args is ["efcore"])
{
    await RoutingData.Benchmarks.EfCoreOverheadBenchmarks.CompareAsync();
    return;
}

if (args is ["open-close", var seconds])
{
    await RoutingData.Benchmarks.OpenCloseProfile.RunAsync(int.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture));
    return;
}

if (args is ["allocations"])
{
    await RoutingData.Benchmarks.AllocationProbe.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
