using System.Globalization;
using RoutingData.LoadHarness;
using Spectre.Console;

// Usage: see HarnessOptions.Usage. One command runs everything and writes the charts and the report.
HarnessOptions options;
try
{
    options = HarnessOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(HarnessOptions.Usage);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
    $"systems: {string.Join(", ", options.Systems)}; workloads: {string.Join(", ", options.Workloads)}; clients: {string.Join(", ", options.Concurrency)}; {options.Seconds:0.##} s per cell in {options.Rounds} round(s)")));
HarnessRun? run = null;
await AnsiConsole.Progress()
    .AutoClear(false)
    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
    .StartAsync(async context => run = await LoadRunner.RunAsync(options, new SpectreProgress(context), cancel.Token));

var report = await ReportWriter.WriteAsync(run!, MachineInfo.LoadAverage(), cancel.Token);
var table = new Table().AddColumns("workload", "clients", "system", "ops/s", "vs raw", "p99 ms", "replica reads", "RYW", "failed");
foreach (var r in run!.Results)
{
    table.AddRow(
        r.Workload,
        r.Concurrency.ToString(CultureInfo.InvariantCulture),
        Markup.Escape(r.System),
        r.Throughput.ToString("0", CultureInfo.InvariantCulture),
        ReportWriter.Ratio(r, run) is { } ratio ? ratio.ToString("0.00", CultureInfo.InvariantCulture) : "–",
        r.P99Ms.ToString("0.00", CultureInfo.InvariantCulture),
        r.ReplicaShare.ToString("P0", CultureInfo.InvariantCulture),
        r.ReadYourWritesViolations.ToString(CultureInfo.InvariantCulture),
        r.Errors.ToString(CultureInfo.InvariantCulture));
}

AnsiConsole.Write(table);
AnsiConsole.MarkupLine(Markup.Escape($"report: {Path.GetFullPath(options.DocFile)} ({report.Length} characters); charts: {Path.GetFullPath(options.OutDirectory)}"));
return 0;

/// <summary>The progress display: one bar per workload.</summary>
internal sealed class SpectreProgress(ProgressContext context) : IHarnessProgress
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private ProgressTask? _current;
    private string _title = string.Empty;

    public void Begin(string workload, int steps)
    {
        _current?.StopTask();
        Log(workload);
        _title = workload;
        _current = context.AddTask(Markup.Escape(workload), maxValue: Math.Max(1, steps));
    }

    public void Step(string description)
    {
        if (_current is not null)
        {
            _current.Description = Markup.Escape(description.Length > 70 ? description[..70] : description);
        }
    }

    public void Advance()
    {
        _current?.Increment(1);
        if (_current is { IsFinished: true })
        {
            _current.Description = Markup.Escape(_title);
        }
    }

    public void Log(string line) => AnsiConsole.MarkupLine("[grey]" + Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds,6:0.0} s: {line}")) + "[/]");
}
