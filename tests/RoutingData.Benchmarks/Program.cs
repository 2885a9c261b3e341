using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/RoutingData.Benchmarks -- --filter '*' [--job short]
// dotnet run -c Release --project tests/RoutingData.Benchmarks -- allocations   (bytes per command, raw vs routed)
if (args is ["allocations"])
{
    await RoutingData.Benchmarks.AllocationProbe.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
