using System.Diagnostics;
using RoutingData.Testing.Consistency;

namespace RoutingData.LoadHarness;

/// <summary>One system's numbers for one workload at one concurrency, summed over its rounds.</summary>
internal sealed record CellResult(
    string Workload,
    int Concurrency,
    string System,
    int Operations,
    int Reads,
    int Errors,
    double Seconds,
    double P50Ms,
    double P99Ms,
    double ReplicaShare,
    int ReadYourWritesViolations,
    int MonotonicViolations)
{
    /// <summary>Gets operations per second.</summary>
    public double Throughput => Seconds <= 0 ? 0 : Operations / Seconds;

    /// <summary>Gets the share of settled reads on replicas (write-once workload only).</summary>
    public double? SettledReplicaShare { get; init; }

    /// <summary>Gets the time from the promoted standby accepting writes to this system's first successful write (failover only; null: none).</summary>
    public double? FirstWriteAfterPromotionMs { get; init; }

    /// <summary>Gets the first error an operation raised, if any.</summary>
    public string? FirstError { get; init; }

    /// <summary>Gets the failed operations by kind (<see cref="ConsistencyRecording.KindOf"/>).</summary>
    public IReadOnlyDictionary<string, int> ErrorKinds { get; init; } = new Dictionary<string, int>();

    /// <summary>Gets the failed operations by kind, most frequent first: <c>kind ×count, …</c>.</summary>
    public string DescribeErrorKinds() =>
        string.Join(", ", ErrorKinds.OrderByDescending(k => k.Value).ThenBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} ×{k.Value}"));

    /// <summary>
    /// Gets the harness process's CPU time per operation while this system ran alone (client side: the driver, the
    /// routing, the workload loop; null where systems ran at the same time).
    /// </summary>
    public double? ClientCpuUsPerOp { get; init; }

    /// <summary>Gets the throughput of each round, in the order the rounds ran (ops/s).</summary>
    public IReadOnlyList<double> RoundThroughputs { get; init; } = [];
}

/// <summary>Sums one system's rounds of one cell.</summary>
internal sealed class CellAccumulator(string workload, int concurrency, string system)
{
    private readonly List<double> _latenciesMs = [];
    private readonly List<double> _roundThroughputs = [];
    private int _operations;
    private int _reads;
    private int _replicaReads;
    private int _errors;
    private int _ryw;
    private int _monotonic;
    private int _settled;
    private int _settledOnReplicas;
    private bool _hasSettled;
    private double _seconds;
    private TimeSpan? _cpu;
    private string? _firstError;
    private readonly Dictionary<string, int> _errorKinds = new(StringComparer.Ordinal);

    public string System { get; } = system;

    public void Add(ConsistencyReport report, IEnumerable<HistoryEvent> history, IReadOnlyDictionary<string, int>? errorKinds = null)
    {
        foreach (var (kind, count) in errorKinds ?? new Dictionary<string, int>())
        {
            _errorKinds[kind] = _errorKinds.GetValueOrDefault(kind) + count;
        }

        _operations += report.Operations;
        _reads += report.Reads;
        _replicaReads += report.ReplicaReads;
        _errors += report.Errors;
        _ryw += report.ReadYourWritesViolations;
        _monotonic += report.MonotonicReadViolations;
        _seconds += report.Elapsed.TotalSeconds;
        if (report.Elapsed > TimeSpan.Zero)
        {
            _roundThroughputs.Add(report.Operations / report.Elapsed.TotalSeconds);
        }

        _firstError ??= report.FirstError;
        _latenciesMs.AddRange(history.Select(e => (e.Ended - e.Started) * 1000.0 / Stopwatch.Frequency));
    }

    public void AddCpu(TimeSpan cpu) => _cpu = (_cpu ?? TimeSpan.Zero) + cpu;

    public void AddSettled(int settled, int onReplicas)
    {
        _hasSettled = true;
        _settled += settled;
        _settledOnReplicas += onReplicas;
    }

    public CellResult Result(double? firstWriteAfterPromotionMs = null)
    {
        _latenciesMs.Sort();
        return new CellResult(
            workload,
            concurrency,
            System,
            _operations,
            _reads,
            _errors,
            _seconds,
            Percentile(_latenciesMs, 0.50),
            Percentile(_latenciesMs, 0.99),
            _reads == 0 ? 0 : (double)_replicaReads / _reads,
            _ryw,
            _monotonic)
        {
            SettledReplicaShare = _hasSettled ? (_settled == 0 ? 0 : (double)_settledOnReplicas / _settled) : null,
            FirstWriteAfterPromotionMs = firstWriteAfterPromotionMs,
            FirstError = _firstError,
            ErrorKinds = new Dictionary<string, int>(_errorKinds, StringComparer.Ordinal),
            ClientCpuUsPerOp = _cpu is { } cpu && _operations > 0 ? cpu.TotalMicroseconds / _operations : null,
            RoundThroughputs = [.. _roundThroughputs],
        };
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
