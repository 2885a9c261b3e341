using System.Diagnostics;
using System.Globalization;
using RoutingData.Testing;
using RoutingData.Testing.Consistency;
using RoutingData.Testing.Pgpool;

namespace RoutingData.LoadHarness;

/// <summary>What the harness reports while it runs (the console's progress display, or nothing in tests).</summary>
internal interface IHarnessProgress
{
    /// <summary>A workload starts; it has <paramref name="steps"/> steps.</summary>
    void Begin(string workload, int steps);

    /// <summary>The current step of the current workload.</summary>
    void Step(string description);

    /// <summary>One step of the current workload is done.</summary>
    void Advance();

    /// <summary>A line worth keeping (a skipped system, a first error).</summary>
    void Log(string line);
}

/// <summary>One workload of the harness.</summary>
internal sealed record WorkloadSpec(string Id, string Title, int LagMs, string Description);

/// <summary>Runs the workloads and returns every system's numbers per workload and concurrency.</summary>
internal static class LoadRunner
{
    public static IReadOnlyList<WorkloadSpec> Specs(HarnessOptions options) =>
    [
        new("point", "Read-only point selects", 0, "every operation opens a connection, runs one primary-key `SELECT`, closes; no writes"),
        new("write-then-read", "Write-then-read sessions", options.LagMs, "half of the operations are an `UPDATE` followed at once by a read of the same key in the same session"),
        new("write-once", "Write once, keep reading", options.LagMs, "each session writes its own key once, then reads it back to back; one background writer per four sessions updates other keys every 10 ms"),
        new("mix", "90/10 read/write mix, no lag", 0, "90 % point selects, 10 % updates of random keys, no think time"),
        new("mix-lag", $"90/10 read/write mix, {options.LagMs} ms lag", options.LagMs, "90 % point selects, 10 % updates of random keys, no think time"),
        new("failover", "Failover in the middle of a 90/10 run", 0, "a fresh cluster per concurrency; every system runs the 90/10 mix at the same time; the primary is killed (`kill -9`), a standby is promoted after a pause and the other standby is re-pointed to it; failed operations retry after 10 ms"),
    ];

    public static async Task<HarnessRun> RunAsync(HarnessOptions options, IHarnessProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        var run = new HarnessRun(options);
        var specs = Specs(options).Where(s => options.Workloads.Contains(s.Id)).ToList();
        var steady = specs.Where(s => s.Id != "failover").OrderBy(s => s.LagMs).ToList();
        if (steady.Count > 0)
        {
            await using var cluster = await StartClusterAsync(cancellationToken).ConfigureAwait(false);
            run.PostgresVersion = await cluster.Primary.ExecuteScalarAsync<string>("SHOW server_version", cancellationToken).ConfigureAwait(false);
            await cluster.Primary.ExecuteAsync(ConsistencyWorkload.SetupSql(options.Keys), cancellationToken).ConfigureAwait(false);
            await cluster.WaitForReplicasAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var pgpool = await StartPgpoolAsync(cluster, options, progress, run, cancellationToken).ConfigureAwait(false);
            try
            {
                await using var systems = await LoadSystems.CreateAsync(cluster, pgpool, options, cancellationToken).ConfigureAwait(false);
                await WarmUpAsync(systems, options, progress, cancellationToken).ConfigureAwait(false);
                var lag = -1;
                foreach (var spec in steady)
                {
                    if (spec.LagMs != lag)
                    {
                        await SetLagAsync(cluster, spec.LagMs, cancellationToken).ConfigureAwait(false);
                        lag = spec.LagMs;
                    }

                    run.Results.AddRange(await RunSteadyAsync(spec, systems, options, progress, cancellationToken).ConfigureAwait(false));
                }
            }
            finally
            {
                if (pgpool is not null)
                {
                    await pgpool.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        progress.Log("steady workloads done; cluster stopped");
        if (specs.FirstOrDefault(s => s.Id == "failover") is { } failover)
        {
            progress.Begin(failover.Title, options.FailoverConcurrency.Count);
            foreach (var concurrency in options.FailoverConcurrency)
            {
                run.Results.AddRange(await RunFailoverAsync(failover, concurrency, options, progress, run, cancellationToken).ConfigureAwait(false));
                progress.Advance();
            }
        }

        return run;
    }

    private static async Task<PostgresCluster> StartClusterAsync(CancellationToken cancellationToken)
    {
        var clusterOptions = new PostgresClusterOptions { Replicas = 2 };

        // Every system's pool may hold a connection per session to each node, and pgpool one per child.
        clusterOptions.ServerSettings["max_connections"] = "600";
        return await PostgresCluster.StartAsync(clusterOptions, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<PgpoolServer?> StartPgpoolAsync(PostgresCluster cluster, HarnessOptions options, IHarnessProgress progress, HarnessRun run, CancellationToken cancellationToken, bool followFailover = false)
    {
        if (!options.Systems.Contains("pgpool"))
        {
            return null;
        }

        if (PgpoolServer.FindBinary() is null)
        {
            run.Notes.Add("pgpool-II is not installed (Debian: `apt-get install -y pgpool2`): it was skipped.");
            progress.Log(run.Notes[^1]);
            return null;
        }

        // As many pgpool children as client connections the Npgsql pool in front of it may open: a client beyond
        // num_init_children would wait in pgpool's queue while idle pooled connections hold every child.
        var pgpool = await PgpoolServer.StartAsync(cluster, new PgpoolOptions { MaxClients = options.MaxPoolSize, FollowFailover = followFailover }, cancellationToken).ConfigureAwait(false);
        run.PgpoolVersion ??= await PgpoolVersionAsync(cancellationToken).ConfigureAwait(false);
        return pgpool;
    }

    private static async Task<string> PgpoolVersionAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(PgpoolServer.FindBinary()!, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            // pgpool prints its version to standard error.
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            var version = ((await output.ConfigureAwait(false)) + (await error.ConfigureAwait(false))).Trim();
            return version.Length == 0 ? "pgpool-II (version unknown)" : version;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return "pgpool-II (version unknown)";
        }
    }

    private static async Task SetLagAsync(PostgresCluster cluster, int lagMs, CancellationToken cancellationToken)
    {
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(TimeSpan.FromMilliseconds(lagMs), cancellationToken).ConfigureAwait(false);
        }

        await cluster.WaitForReplicasAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static async Task WarmUpAsync(LoadSystems systems, HarnessOptions options, IHarnessProgress progress, CancellationToken cancellationToken)
    {
        progress.Begin("Warm-up", systems.All.Count);
        var workload = new ConsistencyWorkload
        {
            Sessions = options.Concurrency.Max(),
            Keys = options.Keys,
            Duration = TimeSpan.FromSeconds(options.Quick ? 0.3 : 1),
            WriteRatio = 0.1,
            WriteThenRead = false,
        };
        foreach (var system in systems.All)
        {
            progress.Step($"warm-up: {system.Name}");
            await workload.RecordAsync(system, cancellationToken).ConfigureAwait(false);
            progress.Advance();
        }
    }

    private static async Task<List<CellResult>> RunSteadyAsync(WorkloadSpec spec, LoadSystems systems, HarnessOptions options, IHarnessProgress progress, CancellationToken cancellationToken)
    {
        var rounds = spec.Id == "write-once" ? 1 : options.Rounds;
        var roundLength = TimeSpan.FromSeconds(options.Seconds / rounds);
        progress.Begin(spec.Title, options.Concurrency.Count * rounds * systems.All.Count);
        var results = new List<CellResult>();
        for (var c = 0; c < options.Concurrency.Count; c++)
        {
            var concurrency = options.Concurrency[c];
            var cells = systems.All.ToDictionary(s => s, s => new CellAccumulator(spec.Id, concurrency, s.Name));
            for (var round = 0; round < rounds; round++)
            {
                // Rotate the order every round so that no system always runs first (or right after the noisiest one).
                var shift = (round + c) % systems.All.Count;
                foreach (var system in systems.All.Skip(shift).Concat(systems.All.Take(shift)))
                {
                    progress.Step($"{spec.Title}: {concurrency} client(s), round {round + 1}/{rounds}, {system.Name}");
                    var cellStarted = Stopwatch.GetTimestamp();
                    var cpuBefore = Environment.CpuUsage.TotalTime;
                    await RunCellAsync(spec, system, concurrency, roundLength, cells[system], options, cancellationToken).ConfigureAwait(false);
                    cells[system].AddCpu(Environment.CpuUsage.TotalTime - cpuBefore);
                    if (Stopwatch.GetElapsedTime(cellStarted) is var took && took > roundLength * 1.5 + TimeSpan.FromSeconds(0.5))
                    {
                        progress.Log(string.Create(CultureInfo.InvariantCulture, $"{spec.Id}, {concurrency} client(s), {system.Name}: a {roundLength.TotalSeconds:0.#} s round took {took.TotalSeconds:0.0} s"));
                    }

                    progress.Advance();
                }
            }

            foreach (var cell in cells.Values)
            {
                var result = cell.Result();
                if (result.FirstError is { } error)
                {
                    progress.Log($"{spec.Id}, {concurrency} client(s), {result.System}: {result.Errors} failed operation(s) ({result.DescribeErrorKinds()}); first: {FirstLine(error)}");
                }

                results.Add(result);
            }
        }

        return results;
    }

    private static async Task RunCellAsync(WorkloadSpec spec, IConsistencySystem system, int concurrency, TimeSpan length, CellAccumulator cell, HarnessOptions options, CancellationToken cancellationToken)
    {
        if (spec.Id == "write-once")
        {
            var writeOnce = new WriteOnceWorkload
            {
                Users = concurrency,
                Writers = HarnessOptions.WriteOnceWriters(concurrency),
                WriterKeys = 8,
                ReadInterval = TimeSpan.Zero,
                Duration = length,
                Settle = TimeSpan.FromMilliseconds(Math.Min(spec.LagMs + 1500, length.TotalMilliseconds * 0.6)),
            };
            var report = await writeOnce.RunAsync(system, cancellationToken).ConfigureAwait(false);
            cell.Add(report.Consistency, report.History);
            cell.AddSettled(report.SettledReads, report.SettledReplicaReads);
            return;
        }

        var workload = new ConsistencyWorkload
        {
            Sessions = concurrency,
            Keys = options.Keys,
            Duration = length,
            WriteRatio = spec.Id switch { "point" => 0, "write-then-read" => 0.5, _ => 0.1 },
            WriteThenRead = spec.Id == "write-then-read",
        };
        var recording = await workload.RecordAsync(system, cancellationToken).ConfigureAwait(false);
        cell.Add(recording.Check(), recording.History, recording.ErrorKinds);
    }

    private static async Task<List<CellResult>> RunFailoverAsync(WorkloadSpec spec, int concurrency, HarnessOptions options, IHarnessProgress progress, HarnessRun run, CancellationToken cancellationToken)
    {
        progress.Step($"{spec.Title}: {concurrency} client(s) per system, starting a fresh cluster");
        await using var cluster = await StartClusterAsync(cancellationToken).ConfigureAwait(false);
        await cluster.Primary.ExecuteAsync(ConsistencyWorkload.SetupSql(options.Keys), cancellationToken).ConfigureAwait(false);
        await cluster.WaitForReplicasAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        run.PostgresVersion ??= await cluster.Primary.ExecuteScalarAsync<string>("SHOW server_version", cancellationToken).ConfigureAwait(false);
        var pgpool = await StartPgpoolAsync(cluster, options, progress, run, cancellationToken, followFailover: true).ConfigureAwait(false);
        try
        {
            await using var systems = await LoadSystems.CreateAsync(cluster, pgpool, options, cancellationToken).ConfigureAwait(false);
            var (oldPrimary, promoted, other) = (cluster.Primary, cluster.Replicas[0], cluster.Replicas[1]);
            var workload = new ConsistencyWorkload
            {
                Sessions = concurrency,
                Keys = options.Keys,
                Duration = TimeSpan.FromMinutes(10), // Ended by the stop token once the promotion is done.
                WriteRatio = 0.1,
                WriteThenRead = false,
                ErrorPause = TimeSpan.FromMilliseconds(10),
            };

            progress.Step($"{spec.Title}: {concurrency} client(s) per system, all systems at once");
            using var stop = new CancellationTokenSource();
            var recordings = systems.All.Select(s => workload.RecordAsync(s, stop.Token, cancellationToken)).ToList();
            await Task.Delay(options.FailoverBefore, cancellationToken).ConfigureAwait(false);
            var killing = Stopwatch.GetTimestamp();
            await oldPrimary.KillAsync(cancellationToken).ConfigureAwait(false);
            var killed = Stopwatch.GetTimestamp();
            await Task.Delay(options.FailoverGap, cancellationToken).ConfigureAwait(false);
            var promoting = Stopwatch.GetTimestamp();
            await cluster.PromoteAsync(promoted, cancellationToken).ConfigureAwait(false);
            var promotedAt = Stopwatch.GetTimestamp();
            await cluster.RepointAsync(other, promoted, cancellationToken).ConfigureAwait(false);
            var repointedAt = Stopwatch.GetTimestamp();
            await Task.Delay(options.FailoverAfter, cancellationToken).ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
            var done = await Task.WhenAll(recordings).ConfigureAwait(false);
            var started = done.Min(d => d.Started);
            run.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"Failover at {concurrency} client(s) per system: the kill started {Ms(killing - started) / 1000:0.0} s into the run and took {Ms(killed - killing):0} ms; the promotion started {Ms(promoting - started) / 1000:0.0} s into the run and took {Ms(promotedAt - promoting):0} ms; re-pointing the other standby took {Ms(repointedAt - promotedAt):0} ms; the run lasted {done.Max(d => d.Elapsed).TotalSeconds:0.0} s."));

            var results = new List<CellResult>();
            foreach (var recording in done)
            {
                var cell = new CellAccumulator(spec.Id, concurrency, recording.System);
                cell.Add(recording.Check(), recording.History, recording.ErrorKinds);
                var firstWrite = recording.History.Where(e => e.IsWrite && e.Ended >= promotedAt).Select(e => (double?)e.Ended).Min();
                var result = cell.Result(firstWrite is { } at ? Ms((long)at - promotedAt) : null);
                if (result.FirstError is { } error)
                {
                    progress.Log($"failover, {concurrency} client(s), {result.System}: {result.Errors} failed operation(s) ({result.DescribeErrorKinds()}); first: {FirstLine(error)}");
                    foreach (var (kind, message) in recording.FirstErrorOfKind)
                    {
                        progress.Log($"  first {kind}: {FirstLine(message)}");
                    }
                }

                results.Add(result);
            }

            var failed = results.Where(r => r.Errors > 0).Select(r => $"{r.System}: {r.DescribeErrorKinds()}").ToList();
            if (failed.Count > 0)
            {
                run.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"Failed operations at {concurrency} client(s) per system, by kind: {string.Join("; ", failed)}."));
            }

            return results;
        }
        finally
        {
            if (pgpool is not null)
            {
                await pgpool.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

/// <summary>Everything one harness run measured, and what the report says about the setup.</summary>
internal sealed class HarnessRun(HarnessOptions options)
{
    public HarnessOptions Options { get; } = options;

    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;

    public string LoadBefore { get; } = MachineInfo.LoadAverage();

    public string? PostgresVersion { get; set; }

    public string? PgpoolVersion { get; set; }

    public List<CellResult> Results { get; } = [];

    public List<string> Notes { get; } = [];
}
