namespace RoutingData.Testing.Consistency;

/// <summary>What the checker found in a history.</summary>
/// <param name="System">The system's name.</param>
/// <param name="Operations">Operations in the history.</param>
/// <param name="Reads">Reads.</param>
/// <param name="Writes">Writes.</param>
/// <param name="ReadYourWritesViolations">Reads that returned a version older than one the same session had already written.</param>
/// <param name="MonotonicReadViolations">Reads that returned a version older than one the same session had already read (and not covered by the first count).</param>
/// <param name="ReplicaReads">Reads a replica answered.</param>
/// <param name="Errors">Operations that failed.</param>
/// <param name="Elapsed">How long the workload ran.</param>
public sealed record ConsistencyReport(
    string System,
    int Operations,
    int Reads,
    int Writes,
    int ReadYourWritesViolations,
    int MonotonicReadViolations,
    int ReplicaReads,
    int Errors,
    TimeSpan Elapsed)
{
    /// <summary>Gets the first error an operation raised, if any (type and message).</summary>
    public string? FirstError { get; init; }

    /// <summary>Gets the share of reads answered by replicas (0–1).</summary>
    public double ReplicaReadShare => Reads == 0 ? 0 : (double)ReplicaReads / Reads;

    /// <summary>Gets the share of reads that violated read-your-writes (0–1).</summary>
    public double ReadYourWritesViolationShare => Reads == 0 ? 0 : (double)ReadYourWritesViolations / Reads;

    /// <summary>Gets the share of reads that violated monotonic reads (0–1).</summary>
    public double MonotonicReadViolationShare => Reads == 0 ? 0 : (double)MonotonicReadViolations / Reads;

    /// <summary>Gets operations per second.</summary>
    public double Throughput => Elapsed <= TimeSpan.Zero ? 0 : Operations / Elapsed.TotalSeconds;
}
