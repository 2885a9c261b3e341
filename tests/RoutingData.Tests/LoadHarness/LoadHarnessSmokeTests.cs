using System.Xml.Linq;
using RoutingData.LoadHarness;
using RoutingData.Testing.Pgpool;
using Xunit;

namespace RoutingData.Tests.LoadHarness;

/// <summary>
/// The load harness's quick mode, end to end, so that it cannot rot: every system gets a row in every cell, RoutingData
/// keeps read-your-writes and follows the failover, the charts are well-formed SVG and the report lands between its
/// markers. The heavy runs are not in CI.
/// </summary>
public sealed class LoadHarnessSmokeTests : IDisposable
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("routingdata-load-smoke-");

    [Fact]
    public async Task Quick_run_reports_every_system_and_RoutingData_keeps_read_your_writes_and_follows_the_failover()
    {
        var doc = Path.Combine(_folder.FullName, "benchmarks.md");
        await File.WriteAllTextAsync(doc, "# Benchmarks\n\ntext before\n\n" + ReportWriter.BeginMarker + "\nold\n" + ReportWriter.EndMarker + "\n\ntext after\n", _ct);
        var options = HarnessOptions.Parse(["--quick", "--rounds", "2", "--workloads", "point,write-then-read,failover", "--out", Path.Combine(_folder.FullName, "charts"), "--doc", doc]);

        var run = await LoadRunner.RunAsync(options, new NoProgress(), _ct);
        var report = await ReportWriter.WriteAsync(run, MachineInfo.LoadAverage(), _ct);

        string[] systems = PgpoolServer.FindBinary() is null
            ? [LoadSystems.Raw, LoadSystems.MultiHost, LoadSystems.RoutingData]
            : [LoadSystems.Raw, LoadSystems.MultiHost, LoadSystems.Pgpool, LoadSystems.RoutingData];
        foreach (var (workload, levels) in new[] { ("point", new[] { 1, 4 }), ("write-then-read", [1, 4]), ("failover", [4]) })
        {
            foreach (var concurrency in levels)
            {
                var cell = run.Results.Where(r => r.Workload == workload && r.Concurrency == concurrency).Select(r => r.System).Order().ToList();
                Assert.Equal(systems.Order(), cell);
            }
        }

        foreach (var result in run.Results.Where(r => r.Workload != "failover"))
        {
            Assert.True(result.Throughput > 0, $"{result.Workload}, {result.Concurrency} client(s), {result.System}: no operation completed");
            Assert.True(result.P99Ms >= result.P50Ms, $"{result.System}: p99 {result.P99Ms} ms below p50 {result.P50Ms} ms");
        }

        foreach (var result in run.Results.Where(r => r.System == LoadSystems.RoutingData))
        {
            Assert.True(result.Throughput > 0, $"{result.Workload}, {result.Concurrency} client(s): RoutingData completed no operation");
            if (result.Workload != "failover")
            {
                Assert.Equal(0, result.Errors);
                Assert.Equal(0, result.ReadYourWritesViolations);
                Assert.Equal(0, result.MonotonicViolations);
            }
            else
            {
                Assert.NotNull(result.FirstWriteAfterPromotionMs);
            }
        }

        // Read-only sessions must reach the replicas, else the routing under test is not routing.
        Assert.All(run.Results.Where(r => r.Workload == "point" && r.System == LoadSystems.RoutingData), r => Assert.True(r.ReplicaShare > 0.5, $"{r.ReplicaShare:P0} of reads on replicas"));

        // Raw Npgsql on the primary cannot follow a failover: it keeps failing, which the report must show.
        Assert.All(run.Results.Where(r => r.Workload == "failover" && r.System == LoadSystems.Raw), r =>
        {
            Assert.Null(r.FirstWriteAfterPromotionMs);
            Assert.True(r.Errors > 0);
        });

        var text = await File.ReadAllTextAsync(doc, _ct);
        Assert.StartsWith("# Benchmarks\n\ntext before\n\n" + ReportWriter.BeginMarker, text, StringComparison.Ordinal);
        Assert.EndsWith(ReportWriter.EndMarker + "\n\ntext after\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\nold\n", text, StringComparison.Ordinal);
        Assert.Contains("| 4 | RoutingData |", report, StringComparison.Ordinal);

        // Two rounds per cell: RoutingData against every other system, round by round, in each steady workload.
        Assert.All(run.Results.Where(r => r.Workload != "failover"), r => Assert.Equal(2, r.RoundThroughputs.Count));
        foreach (var (workload, title) in new[] { ("point", "### Read-only point selects"), ("write-then-read", "### Write-then-read sessions") })
        {
            var start = report.IndexOf(title, StringComparison.Ordinal);
            var end = report.IndexOf("\n### ", start + title.Length, StringComparison.Ordinal);
            var section = report[start..(end < 0 ? report.Length : end)];
            Assert.Contains("| 1 | " + LoadSystems.MultiHost + " | 2 | **", section, StringComparison.Ordinal);
            Assert.Contains("| 4 | " + LoadSystems.MultiHost + " | 2 | **", section, StringComparison.Ordinal);
            Assert.Contains("charts/load-" + workload + "-rounds.svg", section, StringComparison.Ordinal);

            // A dot per round of each comparison drawn: at least the two against multi-host at both concurrencies.
            var rounds = XDocument.Load(Path.Combine(_folder.FullName, "charts", "load-" + workload + "-rounds.svg"));
            var dots = rounds.Descendants().Count(e => e.Name.LocalName == "circle");
            Assert.True(dots >= 2 * 2 && dots % 2 == 0, $"load-{workload}-rounds.svg has {dots} dots");
        }
        foreach (var chart in new[] { "load-point.svg", "load-write-then-read.svg", "load-failover.svg" })
        {
            var svg = XDocument.Load(Path.Combine(_folder.FullName, "charts", chart));
            Assert.True(svg.Descendants().Count(e => e.Name.LocalName == "rect") > 10, chart + " has no bars");
            Assert.Contains("charts/" + chart, report, StringComparison.Ordinal);
        }
    }

    public void Dispose() => _folder.Delete(recursive: true);

    private sealed class NoProgress : IHarnessProgress
    {
        public void Begin(string workload, int steps)
        {
        }

        public void Step(string description)
        {
        }

        public void Advance()
        {
        }

        public void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
    }
}
