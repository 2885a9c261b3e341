using System.Diagnostics;

namespace RoutingData.Testing.Consistency;

/// <summary>
/// "Write once, keep reading": each user writes its own key once, then reads it every <see cref="ReadInterval"/> for
/// <see cref="Duration"/>, while background writers update other keys every <see cref="WriterInterval"/>. It shows
/// whether users get back onto the replicas once their write has replicated, or stay on the primary for as long as
/// anyone else writes. Needs <c>kv</c> with at least <see cref="Users"/> + <see cref="WriterKeys"/> keys
/// (<see cref="ConsistencyWorkload.SetupSql"/>).
/// </summary>
public sealed class WriteOnceWorkload
{
    /// <summary>Gets or sets the number of users (each writes key <c>user</c> once, then reads it).</summary>
    /// <value>The default value is 20.</value>
    public int Users { get; set; } = 20;

    /// <summary>Gets or sets the number of background writers.</summary>
    /// <value>The default value is 4.</value>
    public int Writers { get; set; } = 4;

    /// <summary>Gets or sets the number of keys the background writers update (after the users' keys).</summary>
    /// <value>The default value is 8.</value>
    public int WriterKeys { get; set; } = 8;

    /// <summary>Gets or sets the pause between a background writer's updates.</summary>
    /// <value>The default value is 10 milliseconds.</value>
    public TimeSpan WriterInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Gets or sets the pause between a user's reads.</summary>
    /// <value>The default value is 20 milliseconds.</value>
    public TimeSpan ReadInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Gets or sets how long each user keeps reading after its write.</summary>
    /// <value>The default value is 6 seconds.</value>
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>
    /// Gets or sets how long after a user's write its reads are not counted in <see cref="WriteOnceReport.SettledReplicaShare"/>
    /// (the replicas' lag plus the time a session may take to get back onto them).
    /// </summary>
    /// <value>The default value is 1.7 seconds (200 ms of lag + 1.5 s).</value>
    public TimeSpan Settle { get; set; } = TimeSpan.FromMilliseconds(1700);

    /// <summary>Gets the number of keys the workload uses.</summary>
    public int Keys => Users + WriterKeys;

    /// <summary>Runs the workload: writers start first, then the users; returns when every user is done.</summary>
    /// <param name="system">The system under test; users are its sessions 0…Users-1, writers the ones after.</param>
    /// <param name="cancellationToken">Stops early.</param>
    /// <returns>The checked history and the replica shares.</returns>
    public async Task<WriteOnceReport> RunAsync(IConsistencySystem system, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(system);
        var errors = 0;
        string? firstError = null;
        void Failed(Exception e)
        {
            Interlocked.Increment(ref errors);
            Interlocked.CompareExchange(ref firstError, e.ToString(), null);
        }

        using var stopWriters = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writers = new Task[Writers];
        for (var w = 0; w < Writers; w++)
        {
            var writer = w;
            writers[w] = Task.Run(async () =>
            {
                var client = system.CreateClient(Users + writer);
                var random = new Random(writer * 31 + 7);
                while (!stopWriters.IsCancellationRequested)
                {
                    try
                    {
                        await client.WriteAsync(Users + random.Next(WriterKeys), cancellationToken).ConfigureAwait(false);
                        await Task.Delay(WriterInterval, stopWriters.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (stopWriters.IsCancellationRequested)
                    {
                        return;
                    }
#pragma warning disable CA1031 // A failed operation is counted, not fatal.
                    catch (Exception e) when (!stopWriters.IsCancellationRequested)
#pragma warning restore CA1031
                    {
                        Failed(e);
                    }
                }
            }, CancellationToken.None);
        }

        // Let the writers get going: the users' reads must meet a primary that keeps moving.
        await Task.Delay(WriterInterval * 10, cancellationToken).ConfigureAwait(false);
        var stopwatch = Stopwatch.StartNew();
        var histories = new List<HistoryEvent>[Users];
        var settledReads = new int[Users];
        var settledOnReplicas = new int[Users];
        var users = new Task[Users];
        for (var u = 0; u < Users; u++)
        {
            var user = u;
            histories[u] = [];
            users[u] = Task.Run(async () =>
            {
                var client = system.CreateClient(user);
                var history = histories[user];
                try
                {
                    var write = await TimeAsync(user, true, () => client.WriteAsync(user, cancellationToken)).ConfigureAwait(false);
                    history.Add(write);
                    var settledAt = write.Ended + (long)(Settle.TotalSeconds * Stopwatch.Frequency);
                    var endAt = write.Ended + (long)(Duration.TotalSeconds * Stopwatch.Frequency);
                    while (Stopwatch.GetTimestamp() < endAt)
                    {
                        await Task.Delay(ReadInterval, cancellationToken).ConfigureAwait(false);
                        try
                        {
                            var read = await TimeAsync(user, false, () => client.ReadAsync(user, cancellationToken)).ConfigureAwait(false);
                            history.Add(read);
                            if (read.Started > settledAt)
                            {
                                settledReads[user]++;
                                settledOnReplicas[user] += read.FromReplica ? 1 : 0;
                            }
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            Failed(e);
                        }
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                }
#pragma warning disable CA1031 // The write failed: counted, this user stops.
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    Failed(e);
                }
            }, CancellationToken.None);
        }

        await Task.WhenAll(users).ConfigureAwait(false);
        var elapsed = stopwatch.Elapsed;
        await stopWriters.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(writers).ConfigureAwait(false);
        var all = histories.SelectMany(h => h).ToList();
        var report = ConsistencyChecker.Check(system.Name, all, errors, elapsed) with { FirstError = firstError };
        return new WriteOnceReport(report, settledReads.Sum(), settledOnReplicas.Sum()) { History = all };
    }

    private static async Task<HistoryEvent> TimeAsync(int session, bool isWrite, Func<Task<OperationResult>> operation)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await operation().ConfigureAwait(false);
        return new HistoryEvent(session, isWrite, session, result.Version, result.Host, result.FromReplica, started, Stopwatch.GetTimestamp());
    }
}

/// <summary>What <see cref="WriteOnceWorkload"/> found.</summary>
/// <param name="Consistency">The users' history, checked (the background writers' operations are not in it).</param>
/// <param name="SettledReads">Users' reads that started more than <see cref="WriteOnceWorkload.Settle"/> after their write.</param>
/// <param name="SettledReplicaReads">Of those, the reads a replica answered.</param>
public sealed record WriteOnceReport(ConsistencyReport Consistency, int SettledReads, int SettledReplicaReads)
{
    /// <summary>Gets the users' operations with their timestamps (for latencies).</summary>
    public IReadOnlyList<HistoryEvent> History { get; init; } = [];

    /// <summary>Gets the share of settled reads answered by replicas (0–1).</summary>
    public double SettledReplicaShare => SettledReads == 0 ? 0 : (double)SettledReplicaReads / SettledReads;
}
