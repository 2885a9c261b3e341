using System.Globalization;
using RoutingData;
using RoutingData.ConsistencyCheck;
using RoutingData.Testing;
using RoutingData.Testing.Consistency;
using RoutingData.Testing.Pgpool;

// Usage: RoutingData.ConsistencyCheck [--sessions 20] [--seconds 5] [--lag-ms 200] [--write-ratio 0.5] [--think-ms 0] [--mixed]
//                                     [--keys 50] [--policy FallbackToPrimary|Wait|Throw]
//   Starts a local cluster (1 primary + 2 replicas), injects replay lag on the replicas, and runs the same workload
//   against RoutingData, raw Npgsql on the primary, Npgsql multi-host and pgpool-II (when installed).
// RoutingData.ConsistencyCheck --failover [--with-reads | --idle] [--rounds 3]
//   The failover scenario against RoutingData and Npgsql multi-host (see FailoverScenario).
// RoutingData.ConsistencyCheck --write-once [--users 20] [--writers 4] [--seconds 6] [--lag-ms 200] [--max-rejoin-ms 500]
//   Users write one row once and keep reading it every 20 ms while background writers update other rows every 10 ms
//   (WriteOnceWorkload): the share of reads replicas serve once the write has replicated, for RoutingData (sessions in
//   memory, and carried as tokens between requests) and Npgsql multi-host, in the same run; --max-rejoin-ms 0 never
//   waits to rejoin (every read the primary's position blocks goes to the primary).
// RoutingData.ConsistencyCheck --replicas-out [--readers 48] [--writers 4] [--seconds 8] [--read-ms 20]
//   Every replica past the lag bound: the writers' latency and the reads served and shed with fallback reads bounded
//   (the default, half the primary's pool) and unbounded (ReplicasOutScenario).
if (args.Contains("--failover"))
{
    var rounds = Array.IndexOf(args, "--rounds") is var r and >= 0 && r + 1 < args.Length ? int.Parse(args[r + 1], CultureInfo.InvariantCulture) : 1;
    await FailoverScenario.RunAsync(args.Contains("--with-reads"), rounds, idle: args.Contains("--idle"));
    return;
}

if (args.Contains("--replicas-out"))
{
    await ReplicasOutScenario.RunAsync(args);
    return;
}

if (args.Contains("--write-once"))
{
    await WriteOnceScenario.RunAsync(args);
    return;
}

var options = Args.Parse(args);
await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 2 });
await cluster.Primary.ExecuteAsync(ConsistencyWorkload.SetupSql(options.Keys));
await cluster.WaitForReplicasAsync();
foreach (var replica in cluster.Replicas)
{
    await replica.SetReplayDelayAsync(TimeSpan.FromMilliseconds(options.LagMs));
}

var workload = new ConsistencyWorkload
{
    Sessions = options.Sessions,
    Keys = options.Keys,
    Duration = TimeSpan.FromSeconds(options.Seconds),
    WriteRatio = options.WriteRatio,
    WriteThenRead = !options.Mixed,
    ThinkTime = TimeSpan.FromMilliseconds(options.ThinkMs),
};

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cluster: 1 primary + 2 replicas, replay lag {options.LagMs} ms; {options.Sessions} sessions, {options.Seconds} s each, {(options.Mixed ? $"{options.WriteRatio:P0} writes mixed" : "write-then-read")}, think time {options.ThinkMs} ms"));
Console.WriteLine("| system | operations | reads | RYW violations | monotonic-read violations | reads on replicas | ops/s | errors |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");

async Task<IConsistencySystem> RoutingDataAsync(LsnCaptureMode capture)
{
    var builder = new ReplicatedDataSourceBuilder(cluster.ConnectionString);
    builder.Options.StaleReadPolicy = options.Policy;
    builder.Options.LsnCapture = capture;
    builder.Options.MaxReadYourWritesWait = TimeSpan.FromMilliseconds(Math.Max(1000, options.LagMs * 3));
    var dataSource = builder.Build();
    await dataSource.WaitForTopologyAsync();
    return new RoutingDataSystem(dataSource, cluster, $"RoutingData ({options.Policy}, {capture} capture)");
}

var systems = new List<Func<Task<IConsistencySystem>>>
{
    () => RoutingDataAsync(LsnCaptureMode.Background),
    () => RoutingDataAsync(LsnCaptureMode.SameRoundTrip),
    () => Task.FromResult(NpgsqlSystems.PrimaryOnly(cluster)),
    () => Task.FromResult(NpgsqlSystems.MultiHost(cluster)),
};

PgpoolServer? pgpool = null;
if (PgpoolServer.FindBinary() is not null)
{
    pgpool = await PgpoolServer.StartAsync(cluster);
    systems.Add(() => Task.FromResult(NpgsqlSystems.SingleEndpoint("pgpool-II (load balancing)", cluster, pgpool.ConnectionString)));
}
else
{
    Console.Error.WriteLine("pgpool-II not installed (apt-get install -y pgpool2): skipped.");
}

foreach (var create in systems)
{
    await using var system = await create();
    var report = await workload.RunAsync(system);
    if (report.FirstError is not null)
    {
        Console.Error.WriteLine($"{report.System}: first error: {report.FirstError}");
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {report.System} | {report.Operations} | {report.Reads} | {report.ReadYourWritesViolations} ({report.ReadYourWritesViolationShare:P1}) | {report.MonotonicReadViolations} ({report.MonotonicReadViolationShare:P1}) | {report.ReplicaReadShare:P1} | {report.Throughput:0} | {report.Errors} |"));
}

if (pgpool is not null)
{
    await pgpool.DisposeAsync();
}

internal sealed record Args(int Sessions, int Seconds, int LagMs, double WriteRatio, int ThinkMs, bool Mixed, int Keys, StaleReadPolicy Policy)
{
    public static Args Parse(string[] args)
    {
        string? Value(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        return new Args(
            int.Parse(Value("--sessions") ?? "20", CultureInfo.InvariantCulture),
            int.Parse(Value("--seconds") ?? "5", CultureInfo.InvariantCulture),
            int.Parse(Value("--lag-ms") ?? "200", CultureInfo.InvariantCulture),
            double.Parse(Value("--write-ratio") ?? "0.5", CultureInfo.InvariantCulture),
            int.Parse(Value("--think-ms") ?? "0", CultureInfo.InvariantCulture),
            args.Contains("--mixed"),
            int.Parse(Value("--keys") ?? "50", CultureInfo.InvariantCulture),
            Enum.Parse<StaleReadPolicy>(Value("--policy") ?? nameof(StaleReadPolicy.FallbackToPrimary), ignoreCase: true));
    }
}
