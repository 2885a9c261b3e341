using System.Diagnostics;
using System.Globalization;
using System.Text;
using RoutingData.Sql;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Xunit;

namespace RoutingData.Tests.Differential;

/// <summary>
/// G1 against a real hot standby: every statement of the seed corpus and of <see cref="StatementGenerator"/> is
/// classified (with pg_proc knowledge of the primary) and run on a standby; none that the classifier calls a read may be
/// refused by the standby as a write.
/// </summary>
/// <remarks>
/// <para>
/// Each statement runs as BEGIN; statement; ROLLBACK on one standby session with a 2 s statement_timeout. A refusal is
/// SQLSTATE 25006, or an error whose message says that something cannot be done during recovery or in a read-only
/// transaction (<see cref="StandbyRunner.IsRefusedAsWrite"/>); other errors (42xxx and the like) do not count.
/// Statements classified Write, SessionState or TransactionControl may run fine on a standby (conservative, allowed).
/// The fast and the reference path of the classifier must agree on every text, too.
/// </para>
/// <para>
/// CI runs the seed corpus and 1,500 generated statements with a new seed each time (printed: failures come with it).
/// ROUTINGDATA_DIFFERENTIAL_COUNT sets how many statements to generate (say 100000 for a long run) and
/// ROUTINGDATA_DIFFERENTIAL_SEED fixes the seed, to repeat a run.
/// </para>
/// <para>
/// Blind spots, accepted and never generated: the text cannot show them, so the classifier cannot either; the library
/// covers them by re-running a statement a standby refuses with 25006 on the primary and remembering its text.
/// <list type="bullet">
/// <item>views and rules that hide a VOLATILE function that writes (SELECT * FROM audited_view);</item>
/// <item>user-defined operators backed by VOLATILE writing functions (a +++ b), and likewise casts (CREATE CAST … WITH
/// FUNCTION), domain CHECK constraints and row-level security policies that call such functions;</item>
/// <item>what a user function does inside, beyond what its volatility says: a STABLE function calling txid_current()
/// (STABLE itself, refused on a standby) or, declared wrongly, nextval or a writing function — the classifier trusts
/// pg_proc.</item>
/// </list>
/// Not covered that way: reading an UNLOGGED table, which a standby refuses with 0A000 ("cannot access temporary or
/// unlogged relations during recovery"), not 25006 — not generated either.
/// </para>
/// </remarks>
public sealed class ClassifierDifferentialTests : ClusterTestBase
{
    private const int CiStatementCount = 1500;
    private const string CountVariable = "ROUTINGDATA_DIFFERENTIAL_COUNT";
    private const string SeedVariable = "ROUTINGDATA_DIFFERENTIAL_SEED";

    [Fact]
    public async Task No_statement_classified_as_a_read_is_refused_by_a_hot_standby()
    {
        var ct = TestContext.Current.CancellationToken;
        var count = ReadSetting(CountVariable) ?? CiStatementCount;
        var seed = ReadSetting(SeedVariable) ?? Random.Shared.Next();
        Report($"seed {seed} ({SeedVariable}={seed} repeats this run), {count} generated statements ({CountVariable})");

        var options = new PostgresClusterOptions { Replicas = 1 };

        // With logical WAL the logical decoding functions fail on the standby for being in recovery, as in production.
        options.ServerSettings["wal_level"] = "logical";
        var cluster = await StartDedicatedClusterAsync(options);
        await cluster.Primary.ExecuteAsync(DifferentialSchema.Sql, ct);
        FunctionCatalog catalog;
        await using (var primary = await cluster.Primary.OpenConnectionAsync(ct))
        {
            catalog = await FunctionCatalog.LoadAsync(primary, [], [], ct);
        }

        await cluster.WaitForReplicasAsync(cancellationToken: ct);
        await using var runner = StandbyRunner.Create(cluster.Replicas[0], DifferentialSchema.SearchPath);

        var tally = new Tally();
        var stopwatch = Stopwatch.StartNew();
        var corpus = SeedCorpus.Load();
        foreach (var entry in corpus)
        {
            var outcome = await tally.RunAsync(runner, catalog, entry.Sql, "seed '" + entry.Description + "'", ct);
            if (entry.Expected is { } expected && outcome.Verdict != expected)
            {
                tally.Problems.Add($"seed '{entry.Description}': the standby was expected to {(expected == StandbyVerdict.Ran ? "run it" : "refuse it")}, got {outcome}: {Show(entry.Sql)}");
            }
        }

        var generator = new StatementGenerator(seed);
        for (var i = 0; i < count; i++)
        {
            await tally.RunAsync(runner, catalog, generator.Next(), "generated #" + i.ToString(CultureInfo.InvariantCulture), ct);
            if ((i + 1) % 10_000 == 0)
            {
                TestContext.Current.SendDiagnosticMessage($"differential (seed {seed}): {i + 1} of {count} statements, {tally.Violations.Count} violations, {stopwatch.Elapsed}");
            }
        }

        stopwatch.Stop();
        Report($"seed {seed}: {corpus.Count} seed + {count} generated statements in {stopwatch.Elapsed.TotalSeconds:F1} s, {runner.Reconnects} reconnects\n{tally.Summary()}");

        Assert.True(tally.Violations.Count == 0, $"seed {seed}: {tally.Violations.Count} statements classified Read were refused by the standby as writes:\n{string.Join("\n", tally.Violations)}");
        Assert.True(tally.Problems.Count == 0, $"seed {seed}: {string.Join("\n", tally.Problems)}");
        Assert.Equal(corpus.Count + count, tally.Statements);

        // The generator must exercise both sides: reads that a standby runs, and writes that it refuses.
        Assert.True(tally.ReadRan > 0, "no statement classified Read ran on the standby");
        Assert.True(tally.WriteRefused > 0, "no statement classified as a write was refused by the standby");
        Assert.True(tally.WriteRan > 0, "no conservatively classified statement ran on the standby");
        Assert.True(tally.ClientErrors * 100 <= tally.Statements, $"{tally.ClientErrors} client errors:\n{tally.Summary()}");
    }

    private static int? ReadSetting(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) && number >= 0
            ? number
            : throw new InvalidOperationException($"{variable} must be a non-negative integer, not '{value}'.");
    }

    private static void Report(string text)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        TestContext.Current.SendDiagnosticMessage(text);
    }

    /// <summary>A statement on one line, control characters escaped, so that a failure can be pasted back.</summary>
    internal static string Show(string sql) => sql
        .Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\r", "\\r", StringComparison.Ordinal)
        .Replace("\n", "\\n", StringComparison.Ordinal)
        .Replace("\t", "\\t", StringComparison.Ordinal)
        .Replace("\f", "\\f", StringComparison.Ordinal);

    /// <summary>The buckets: read or not, times what the standby did.</summary>
    private sealed class Tally
    {
        private readonly Dictionary<string, (int Count, string Example)> _failures = new(StringComparer.Ordinal);
        private readonly List<string> _clientErrors = [];

        public int Statements { get; private set; }

        public int ReadRan { get; private set; }

        public int ReadFailed { get; private set; }

        public int WriteRefused { get; private set; }

        public int WriteRan { get; private set; }

        public int WriteFailed { get; private set; }

        public int ClientErrors { get; private set; }

        /// <summary>Reads the standby refused as writes: G1 broken.</summary>
        public List<string> Violations { get; } = [];

        /// <summary>Anything else that fails the test: fast and reference path disagreeing, seed expectations not met.</summary>
        public List<string> Problems { get; } = [];

        public async Task<StandbyOutcome> RunAsync(StandbyRunner runner, FunctionCatalog catalog, string sql, string label, CancellationToken cancellationToken)
        {
            var classification = StatementClassifier.ClassifyUncached(sql, catalog);
            var reference = StatementClassifier.ClassifyUncached(sql, catalog, fastPath: false);
            if (classification.Kind != reference.Kind || classification.Reason != reference.Reason || classification.Hint != reference.Hint)
            {
                Problems.Add($"{label}: the fast path says {classification}, the reference path {reference}: {Show(sql)}");
            }

            var outcome = await runner.RunAsync(sql, cancellationToken);
            Statements++;
            switch (outcome.Verdict)
            {
                case StandbyVerdict.Ran when classification.IsRead:
                    ReadRan++;
                    break;
                case StandbyVerdict.Ran:
                    WriteRan++;
                    break;
                case StandbyVerdict.Refused when classification.IsRead:
                    Violations.Add($"{label}: classified {classification}, refused with {outcome.SqlState} \"{outcome.Message}\": {Show(sql)}");
                    break;
                case StandbyVerdict.Refused:
                    WriteRefused++;
                    break;
                case StandbyVerdict.Failed:
                    if (classification.IsRead)
                    {
                        ReadFailed++;
                    }
                    else
                    {
                        WriteFailed++;
                    }

                    _failures[outcome.SqlState!] = _failures.TryGetValue(outcome.SqlState!, out var seen)
                        ? (seen.Count + 1, seen.Example)
                        : (1, outcome.Message ?? string.Empty);
                    break;
                default:
                    ClientErrors++;
                    if (_clientErrors.Count < 20)
                    {
                        _clientErrors.Add($"{label}: {outcome}: {Show(sql)}");
                    }

                    break;
            }

            return outcome;
        }

        public string Summary()
        {
            var builder = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"  Read, ran on the standby:                         {ReadRan}")
                .AppendLine(CultureInfo.InvariantCulture, $"  Read, refused as a write (G1 violations):         {Violations.Count}")
                .AppendLine(CultureInfo.InvariantCulture, $"  Read, failed otherwise:                           {ReadFailed}")
                .AppendLine(CultureInfo.InvariantCulture, $"  Write/SessionState/TC, refused as a write:        {WriteRefused}")
                .AppendLine(CultureInfo.InvariantCulture, $"  Write/SessionState/TC, ran (conservative):       {WriteRan}")
                .AppendLine(CultureInfo.InvariantCulture, $"  Write/SessionState/TC, failed otherwise:          {WriteFailed}")
                .AppendLine(CultureInfo.InvariantCulture, $"  client errors:                                    {ClientErrors}")
                .Append("  other errors by SQLSTATE (statements, first message):");
            foreach (var (state, (count, example)) in _failures.OrderByDescending(f => f.Value.Count))
            {
                builder.AppendLine().Append(CultureInfo.InvariantCulture, $"    {state} {count,5}  {example}");
            }

            foreach (var error in _clientErrors)
            {
                builder.AppendLine().Append("  ").Append(error);
            }

            return builder.ToString();
        }
    }
}
