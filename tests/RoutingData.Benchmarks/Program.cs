using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/RoutingData.Benchmarks -- --filter '*' [--job short]
// dotnet run -c Release --project tests/RoutingData.Benchmarks -- allocations   (bytes per command, raw vs routed)
// dotnet run -c Release --project tests/RoutingData.Benchmarks -- open-close 20 [variant]   (raw vs routed alternating: open/execute/close and open connection, µs, bytes, ratio; a CPU profile target)
// dotnet run -c Release --project tests/RoutingData.Benchmarks -- efcore   (LINQ query: UseReplicatedDb vs UseNpgsql, alternating rounds)
if (args is ["efcore"])
{
    await RoutingData.Benchmarks.EfCoreOverheadBenchmarks.CompareAsync();
    return;
}

if (args is ["open-close", var seconds, .. var only] && only.Length <= 1)
{
    await RoutingData.Benchmarks.OpenCloseProfile.RunAsync(int.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture), only is [var name] ? name : null);
    return;
}

if (args is ["allocations"])
{
    await RoutingData.Benchmarks.AllocationProbe.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
