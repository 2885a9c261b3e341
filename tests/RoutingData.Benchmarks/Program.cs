using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/RoutingData.Benchmarks -- --filter '*' [--job short]
// dotnet run -c Release --project tests/RoutingData.Benchmarks -- allocations   (bytes per command, raw vs routed)
// dotnet run -c Release --project tests/RoutingData.Benchmarks -- efcore   (LINQ query: UseReplicatedDb vs UseNpgsql, alternating rounds)
if (args is ["efcore"])
{
    await RoutingData.Benchmarks.EfCoreOverheadBenchmarks.CompareAsync();
    return;
}

if (args is ["allocations"])
{
    await RoutingData.Benchmarks.AllocationProbe.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
