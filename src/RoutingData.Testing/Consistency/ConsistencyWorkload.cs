using System.Diagnostics;

namespace RoutingData.Testing.Consistency;

/// <summary>
/// Concurrent sessions writing and reading a shared key space through a system under test, recording a history
/// the <see cref="ConsistencyChecker"/> judges. Bounded in time and count; stops by itself.
/// </summary>
public sealed class ConsistencyWorkload
{
    /// <summary>Gets or sets the number of concurrent sessions.</summary>
    /// <value>The default value is 20.</value>
    public int Sessions { get; set; } = 20;

    /// <summary>Gets or sets the number of keys (rows of <c>kv</c>).</summary>
    /// <value>The default value is 50.</value>
    public int Keys { get; set; } = 50;

    /// <summary>Gets or sets how long the workload runs.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets the share of operations that are writes. 0.5 with <see cref="WriteThenRead"/> is the classic
    /// write-then-read probe; 0.1 is a 90/10 read/write mix.
    /// </summary>
    /// <value>The default value is 0.5.</value>
    public double WriteRatio { get; set; } = 0.5;

    /// <summary>Gets or sets a value indicating whether every write is followed at once by a read of the same key.</summary>
    /// <value>The default value is true.</value>
    public bool WriteThenRead { get; set; } = true;

    /// <summary>Gets or sets a pause between a session's operations (think time).</summary>
    /// <value>The default value is zero.</value>
    public TimeSpan ThinkTime { get; set; }

    /// <summary>
    /// Gets or sets a pause after a failed operation, so that a session whose system is down (a failover) retries at
    /// a bounded rate instead of spinning.
    /// </summary>
    /// <value>The default value is zero.</value>
    public TimeSpan ErrorPause { get; set; }

    /// <summary>The SQL that creates and fills the table the workload uses.</summary>
    /// <param name="keys">The number of keys.</param>
    /// <returns>The SQL.</returns>
    public static string SetupSql(int keys) =>
        FormattableString.Invariant($"DROP TABLE IF EXISTS kv; CREATE TABLE kv (k int PRIMARY KEY, version bigint NOT NULL); INSERT INTO kv SELECT g, 0 FROM generate_series(0, {keys - 1}) g");

    /// <summary>Runs the workload against <paramref name="system"/> and checks the history.</summary>
    /// <param name="system">The system under test.</param>
    /// <param name="cancellationToken">Stops early.</param>
    /// <returns>The report.</returns>
    public async Task<ConsistencyReport> RunAsync(IConsistencySystem system, CancellationToken cancellationToken = default) =>
        (await RecordAsync(system, cancellationToken).ConfigureAwait(false)).Check();

    /// <summary>
    /// Runs the workload against <paramref name="system"/> and returns what happened, unjudged: the history with each
    /// operation's timestamps (for latencies, or what happened around a fault) and the failed operations.
    /// </summary>
    /// <param name="system">The system under test.</param>
    /// <param name="cancellationToken">Stops early.</param>
    /// <returns>The recording; <see cref="ConsistencyRecording.Check"/> judges it.</returns>
    public Task<ConsistencyRecording> RecordAsync(IConsistencySystem system, CancellationToken cancellationToken = default) =>
        RecordAsync(system, CancellationToken.None, cancellationToken);

    /// <summary>
    /// Runs the workload against <paramref name="system"/> until <see cref="Duration"/> has passed or
    /// <paramref name="stopToken"/> is cancelled, whichever comes first, and returns what happened, unjudged.
    /// </summary>
    /// <param name="system">The system under test.</param>
    /// <param name="stopToken">Ends the run between operations, as the end of <see cref="Duration"/> does: operations in flight complete.</param>
    /// <param name="cancellationToken">Stops early, cancelling operations in flight.</param>
    /// <returns>The recording; <see cref="ConsistencyRecording.Check"/> judges it.</returns>
    public async Task<ConsistencyRecording> RecordAsync(IConsistencySystem system, CancellationToken stopToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(system);
        var histories = new List<HistoryEvent>[Sessions];
        var errors = 0;
        string? firstError = null;
        var errorKinds = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var firstOfKind = new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopToken);
        stop.CancelAfter(Duration);
        var startedAt = Stopwatch.GetTimestamp();
        var stopwatch = Stopwatch.StartNew();
        var sessions = new Task[Sessions];
        for (var s = 0; s < Sessions; s++)
        {
            var session = s;
            histories[s] = [];
            sessions[s] = Task.Run(async () =>
            {
                var client = system.CreateClient(session);
                var random = new Random(session * 7919);
                var history = histories[session];

                // The end of the run stops sessions between operations: an operation in flight completes (cancelling
                // it would break its pooled connection — or, through a proxy, wait for the cancel request — and
                // charge that to whatever runs next).
                while (!stop.IsCancellationRequested)
                {
                    var key = random.Next(Keys);
                    try
                    {
                        if (random.NextDouble() < WriteRatio)
                        {
                            history.Add(await TimeAsync(session, true, key, () => client.WriteAsync(key, cancellationToken)).ConfigureAwait(false));
                            if (WriteThenRead)
                            {
                                history.Add(await TimeAsync(session, false, key, () => client.ReadAsync(key, cancellationToken)).ConfigureAwait(false));
                            }
                        }
                        else
                        {
                            history.Add(await TimeAsync(session, false, key, () => client.ReadAsync(key, cancellationToken)).ConfigureAwait(false));
                        }

                        if (ThinkTime > TimeSpan.Zero)
                        {
                            await Task.Delay(ThinkTime, stop.Token).ConfigureAwait(false);
                        }
                    }
#pragma warning disable CA1031 // A failed operation is counted, not fatal: the history stays valid.
                    catch (Exception) when (stop.IsCancellationRequested)
                    {
                        // Cancelled, or failed while the run was ending (e.g. a connection attempt to a dead host
                        // that the stop interrupted): not an operation of the run.
                        return;
                    }
                    catch (Exception e)
#pragma warning restore CA1031
                    {
                        Interlocked.Increment(ref errors);
                        Interlocked.CompareExchange(ref firstError, e.ToString(), null);
                        var kind = ConsistencyRecording.KindOf(e);
                        errorKinds.AddOrUpdate(kind, 1, static (_, n) => n + 1);
                        firstOfKind.TryAdd(kind, e.Message);
                        if (ErrorPause > TimeSpan.Zero)
                        {
                            try
                            {
                                await Task.Delay(ErrorPause, stop.Token).ConfigureAwait(false);
                            }
                            catch (OperationCanceledException)
                            {
                                return;
                            }
                        }
                    }
                }
            }, CancellationToken.None);
        }

        await Task.WhenAll(sessions).ConfigureAwait(false);
        var elapsed = stopwatch.Elapsed;
        var all = new List<HistoryEvent>();
        foreach (var history in histories)
        {
            all.AddRange(history);
        }

        return new ConsistencyRecording(system.Name, all, errors, firstError, startedAt, elapsed)
        {
            ErrorKinds = new Dictionary<string, int>(errorKinds, StringComparer.Ordinal),
            FirstErrorOfKind = new Dictionary<string, string>(firstOfKind, StringComparer.Ordinal),
        };
    }

    private static async Task<HistoryEvent> TimeAsync(int session, bool isWrite, int key, Func<Task<OperationResult>> operation)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await operation().ConfigureAwait(false);
        return new HistoryEvent(session, isWrite, key, result.Version, result.Host, result.FromReplica, started, Stopwatch.GetTimestamp());
    }
}
