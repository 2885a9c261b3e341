using System.Globalization;

namespace RoutingData.LoadHarness;

/// <summary>The harness's command line.</summary>
internal sealed record HarnessOptions
{
    public const string Usage = """
        RoutingData.LoadHarness [--quick] [--systems raw,multihost,pgpool,routingdata] [--workloads point,write-then-read,write-once,mix,mix-lag,failover]
                                [--concurrency 1,16,64] [--seconds 5] [--rounds 2] [--lag-ms 200] [--max-pool-size 100] [--reset-on-close]
                                [--out docs/benchmarks] [--doc docs/benchmarks.md]
          Starts a local cluster (1 primary + 2 replicas) and runs each workload against every system with the same pool
          settings, systems interleaved round by round; writes SVG charts to --out and the report between the
          load-harness markers of --doc (appended when they are missing).
          --seconds is the measured time per system, workload and concurrency, split into --rounds rounds.
          --quick: concurrency 1,4 (failover: 4 only), 1 s per cell, one round, output to a temporary folder (the CI smoke run).
        """;

    public static readonly string[] AllSystems = ["raw", "multihost", "pgpool", "routingdata"];

    public static readonly string[] AllWorkloads = ["point", "write-then-read", "write-once", "mix", "mix-lag", "failover"];

    public bool Quick { get; init; }

    public IReadOnlyList<string> Systems { get; init; } = AllSystems;

    public IReadOnlyList<string> Workloads { get; init; } = AllWorkloads;

    public IReadOnlyList<int> Concurrency { get; init; } = [1, 16, 64];

    public double Seconds { get; init; } = 5;

    public int Rounds { get; init; } = 2;

    public int LagMs { get; init; } = 200;

    public int MaxPoolSize { get; init; } = 100;

    public bool ResetOnClose { get; init; }

    public int Keys { get; init; } = 1000;

    public string OutDirectory { get; init; } = Path.Combine("docs", "benchmarks");

    public string DocFile { get; init; } = Path.Combine("docs", "benchmarks.md");

    /// <summary>The command line as given, for the report.</summary>
    public string CommandLine { get; init; } = string.Empty;

    /// <summary>The concurrencies of the failover runs (a fresh cluster each): all of them, or in quick mode the largest.</summary>
    public IReadOnlyList<int> FailoverConcurrency => Quick ? [Concurrency.Max()] : Concurrency;

    /// <summary>How long each failover run goes on before the primary is killed.</summary>
    public TimeSpan FailoverBefore => TimeSpan.FromSeconds(Quick ? 1 : Math.Max(3, Seconds));

    /// <summary>How long each failover run goes on once the promoted standby accepts writes (and the other follows it).</summary>
    public TimeSpan FailoverAfter => TimeSpan.FromSeconds(Quick ? 2 : Math.Max(6, Seconds * 1.5));

    /// <summary>How long the dead primary stays dead before a standby is promoted.</summary>
    public TimeSpan FailoverGap => TimeSpan.FromMilliseconds(Quick ? 500 : 1000);

    public static HarnessOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var quick = args.Contains("--quick");
        var options = quick
            ? new HarnessOptions
            {
                Quick = true,
                Concurrency = [1, 4],
                Seconds = 1,
                Rounds = 1,
                Keys = 100,
                OutDirectory = Path.Combine(Path.GetTempPath(), "routingdata-load-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture)),
            }
            : new HarnessOptions();
        options = options with { DocFile = quick ? Path.Combine(options.OutDirectory, "report.md") : options.DocFile };

        for (var i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            options = args[i] switch
            {
                "--quick" => options,
                "--systems" => options with { Systems = List(Next(), AllSystems, "system") },
                "--workloads" => options with { Workloads = List(Next(), AllWorkloads, "workload") },
                "--concurrency" => options with { Concurrency = Next().Split(',').Select(c => Positive(c, "--concurrency")).ToArray() },
                "--seconds" => options with { Seconds = double.Parse(Next(), CultureInfo.InvariantCulture) is var s and > 0 ? s : throw new ArgumentException("--seconds must be positive.") },
                "--rounds" => options with { Rounds = Positive(Next(), "--rounds") },
                "--lag-ms" => options with { LagMs = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--max-pool-size" => options with { MaxPoolSize = Positive(Next(), "--max-pool-size") },
                "--reset-on-close" => options with { ResetOnClose = true },
                "--out" => options with { OutDirectory = Next() },
                "--doc" => options with { DocFile = Next() },
                _ => throw new ArgumentException($"Unknown argument '{args[i]}'."),
            };
        }

        if (options.Concurrency.Max() + WriteOnceWriters(options.Concurrency.Max()) > options.MaxPoolSize)
        {
            throw new ArgumentException($"--max-pool-size {options.MaxPoolSize} is below the largest concurrency plus its background writers ({options.Concurrency.Max() + WriteOnceWriters(options.Concurrency.Max())}).");
        }

        return options with { CommandLine = string.Join(' ', args) };
    }

    /// <summary>Background writers of the write-once workload at a concurrency: one per four users.</summary>
    public static int WriteOnceWriters(int concurrency) => Math.Max(1, concurrency / 4);

    private static int Positive(string text, string name) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : throw new ArgumentException($"{name} takes positive integers, not '{text}'.");

    private static string[] List(string text, string[] known, string what)
    {
        var items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = items.Where(i => !known.Contains(i)).ToList();
        return unknown.Count == 0 && items.Length > 0
            ? known.Where(items.Contains).ToArray()
            : throw new ArgumentException($"Unknown {what}(s) '{string.Join(", ", unknown)}'; known: {string.Join(", ", known)}.");
    }
}
