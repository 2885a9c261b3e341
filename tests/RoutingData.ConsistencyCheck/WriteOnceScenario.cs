using System.Globalization;
using RoutingData.Testing;
using RoutingData.Testing.Consistency;

namespace RoutingData.ConsistencyCheck;

/// <summary>
/// "Write once, keep reading" (<see cref="WriteOnceWorkload"/>) against RoutingData with default settings — sessions in
/// memory and sessions carried as exported tokens between requests — and Npgsql multi-host, on one lagging cluster.
/// </summary>
internal static class WriteOnceScenario
{
    public static async Task RunAsync(string[] args)
    {
        string? Value(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var lagMs = int.Parse(Value("--lag-ms") ?? "200", CultureInfo.InvariantCulture);
        TimeSpan? maxRejoinWait = Value("--max-rejoin-ms") is { } ms ? TimeSpan.FromMilliseconds(int.Parse(ms, CultureInfo.InvariantCulture)) : null;
        var workload = new WriteOnceWorkload
        {
            Users = int.Parse(Value("--users") ?? "20", CultureInfo.InvariantCulture),
            Writers = int.Parse(Value("--writers") ?? "4", CultureInfo.InvariantCulture),
            Duration = TimeSpan.FromSeconds(int.Parse(Value("--seconds") ?? "6", CultureInfo.InvariantCulture)),
            Settle = TimeSpan.FromMilliseconds(lagMs + 1500),
        };

        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 2 });
        await cluster.Primary.ExecuteAsync(ConsistencyWorkload.SetupSql(workload.Keys));
        await cluster.WaitForReplicasAsync();
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(TimeSpan.FromMilliseconds(lagMs));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cluster: 1 primary + 2 replicas, replay lag {lagMs} ms; {workload.Users} users write once then read every {workload.ReadInterval.TotalMilliseconds:0} ms for {workload.Duration.TotalSeconds:0} s; {workload.Writers} background writers every {workload.WriterInterval.TotalMilliseconds:0} ms; settled = reads starting > {workload.Settle.TotalMilliseconds:0} ms after the user's write"));
        Console.WriteLine("| system | reads | RYW violations | monotonic-read violations | reads on replicas (all) | settled reads | settled reads on replicas | errors |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");

        async Task<IConsistencySystem> RoutingDataAsync(bool tokens)
        {
            var builder = new ReplicatedDataSourceBuilder(cluster.ConnectionString);
            builder.Options.MaxRejoinWait = maxRejoinWait ?? builder.Options.MaxRejoinWait;
            var dataSource = builder.Build();
            await dataSource.WaitForTopologyAsync();
            var name = string.Create(CultureInfo.InvariantCulture, $"RoutingData ({(tokens ? "token per request" : "session in memory")}, MaxRejoinWait {builder.Options.MaxRejoinWait.TotalMilliseconds:0} ms)");
            return new RoutingDataSystem(dataSource, cluster, name, tokens);
        }

        var systems = new List<Func<Task<IConsistencySystem>>>
        {
            () => RoutingDataAsync(tokens: false),
            () => RoutingDataAsync(tokens: true),
            () => Task.FromResult(NpgsqlSystems.MultiHost(cluster)),
        };

        foreach (var create in systems)
        {
            await using var system = await create();
            var report = await workload.RunAsync(system);
            var c = report.Consistency;
            if (c.FirstError is not null)
            {
                Console.Error.WriteLine($"{c.System}: first error: {c.FirstError}");
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {c.System} | {c.Reads} | {c.ReadYourWritesViolations} | {c.MonotonicReadViolations} | {c.ReplicaReadShare:P1} | {report.SettledReads} | {report.SettledReplicaShare:P1} | {c.Errors} |"));
        }
    }
}
