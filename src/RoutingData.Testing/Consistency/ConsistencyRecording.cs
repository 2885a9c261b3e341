namespace RoutingData.Testing.Consistency;

/// <summary>What a <see cref="ConsistencyWorkload"/> run recorded, before the checker judges it.</summary>
/// <param name="System">The system's name.</param>
/// <param name="History">Every completed operation; each session's in program order.</param>
/// <param name="Errors">Operations that failed.</param>
/// <param name="FirstError">The first failure (type and message), if any.</param>
/// <param name="Started">When the sessions started (<see cref="System.Diagnostics.Stopwatch"/> ticks, like the events' timestamps).</param>
/// <param name="Elapsed">How long the workload ran.</param>
public sealed record ConsistencyRecording(string System, IReadOnlyList<HistoryEvent> History, int Errors, string? FirstError, long Started, TimeSpan Elapsed)
{
    /// <summary>Checks the history for the session guarantees (<see cref="ConsistencyChecker"/>).</summary>
    /// <returns>The report.</returns>
    public ConsistencyReport Check() => ConsistencyChecker.Check(System, History, Errors, Elapsed) with { FirstError = FirstError };
}
