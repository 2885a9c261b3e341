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
    /// <summary>
    /// Gets the failed operations by kind: the exception's type, with the SQLSTATE of a server error or the type of the
    /// error under a driver's wrapper (for example <c>PostgresException 57P01</c>, <c>NpgsqlException (EndOfStreamException)</c>).
    /// </summary>
    public IReadOnlyDictionary<string, int> ErrorKinds { get; init; } = new Dictionary<string, int>();

    /// <summary>Gets the first failure of each kind in <see cref="ErrorKinds"/> (type and message).</summary>
    public IReadOnlyDictionary<string, string> FirstErrorOfKind { get; init; } = new Dictionary<string, string>();

    /// <summary>The kind an operation's failure is counted under in <see cref="ErrorKinds"/>.</summary>
    /// <param name="error">The failure.</param>
    /// <returns>Its kind.</returns>
    public static string KindOf(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var name = error.GetType().Name;
        return error switch
        {
            Npgsql.PostgresException postgres => $"{name} {postgres.SqlState}",
            { InnerException: Npgsql.PostgresException inner } => $"{name} ({inner.GetType().Name} {inner.SqlState})",
            { InnerException: { } inner } => $"{name} ({inner.GetType().Name})",
            _ => name,
        };
    }

    /// <summary>Checks the history for the session guarantees (<see cref="ConsistencyChecker"/>).</summary>
    /// <returns>The report.</returns>
    public ConsistencyReport Check() => ConsistencyChecker.Check(System, History, Errors, Elapsed) with { FirstError = FirstError };
}
