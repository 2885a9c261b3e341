using System.Globalization;

namespace RoutingData.Testing.Faults;

/// <summary>What a <see cref="Nemesis"/> does to a replica.</summary>
public enum NemesisAction
{
    /// <summary>Stops a replica (fast or immediate, at random) and starts it again.</summary>
    RestartReplica,

    /// <summary>Stalls the replica's WAL stream (its connection stays up) for a while, then resumes it.</summary>
    StallWalStream,

    /// <summary>Changes the replica's replay delay (<c>recovery_min_apply_delay</c>).</summary>
    ChangeReplayDelay,

    /// <summary>Terminates every client connection on the replica (<c>pg_terminate_backend</c>).</summary>
    KillConnections,
}

/// <summary>
/// A chaos loop for consistency tests: while a workload runs, it restarts replicas, stalls and resumes their WAL
/// streams, changes their replay delay and kills their connections, one random fault at a time. The primary is left
/// alone (failover is another test's business). When it stops, it heals the cluster: every stream resumed, every
/// replica running, the replay delay back to <see cref="BaseReplayDelay"/>.
/// </summary>
public sealed class Nemesis
{
    private static readonly TimeSpan[] Delays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1)];

    private readonly PostgresCluster _cluster;
    private readonly Random _random;
    private readonly Dictionary<NemesisAction, int> _counts = [];

    /// <summary>Creates a nemesis for <paramref name="cluster"/>.</summary>
    /// <param name="cluster">The cluster whose replicas it attacks.</param>
    /// <param name="seed">The seed of its choices (the same seed, the same sequence of faults).</param>
    public Nemesis(PostgresCluster cluster, int seed)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        _cluster = cluster;
        _random = new Random(seed);
        foreach (var action in Enum.GetValues<NemesisAction>())
        {
            _counts[action] = 0;
        }
    }

    /// <summary>Gets or sets how long each fault lasts before the next one (a restart takes what it takes).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the replay delay the replicas return to when the nemesis stops.</summary>
    public TimeSpan BaseReplayDelay { get; set; }

    /// <summary>Gets how many times each fault was applied.</summary>
    public IReadOnlyDictionary<NemesisAction, int> Counts => _counts;

    /// <summary>Gets a line per fault applied, in order, for a failed test's output.</summary>
    public IList<string> Log { get; } = [];

    /// <summary>Applies faults until <paramref name="duration"/> has passed, then heals the cluster.</summary>
    /// <param name="duration">How long to go on.</param>
    /// <param name="cancellationToken">Stops early (the cluster is healed all the same).</param>
    /// <returns>A task that completes once the cluster is healed.</returns>
    public async Task RunAsync(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var until = DateTime.UtcNow + duration;
        var actions = Enum.GetValues<NemesisAction>();
        try
        {
            // Every kind of fault at least once, then at random.
            var round = 0;
            while (DateTime.UtcNow < until && !cancellationToken.IsCancellationRequested)
            {
                var action = round < actions.Length ? actions[round] : actions[_random.Next(actions.Length)];
                var replicas = _cluster.Replicas;
                var replica = replicas[_random.Next(replicas.Count)];
                round++;
                await ApplyAsync(action, replica, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await HealAsync().ConfigureAwait(false);
        }
    }

    private async Task ApplyAsync(NemesisAction action, PostgresNode replica, CancellationToken cancellationToken)
    {
        _counts[action]++;
        var at = DateTime.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
        switch (action)
        {
            case NemesisAction.RestartReplica:
                var mode = _random.Next(2) == 0 ? ShutdownMode.Fast : ShutdownMode.Immediate;
                Log.Add($"{at} restart {replica.Name} ({mode})");
                await replica.StopAsync(mode, cancellationToken).ConfigureAwait(false);
                await Task.Delay(Interval / 2, cancellationToken).ConfigureAwait(false);
                await replica.StartAsync(cancellationToken).ConfigureAwait(false);
                break;
            case NemesisAction.StallWalStream:
                Log.Add($"{at} stall the WAL stream to {replica.Name}");
                await _cluster.StallWalStreamAsync(replica, cancellationToken).ConfigureAwait(false);
                await Task.Delay(Interval, cancellationToken).ConfigureAwait(false);
                await _cluster.ResumeWalStreamAsync(replica, cancellationToken).ConfigureAwait(false);
                break;
            case NemesisAction.ChangeReplayDelay:
                var delay = Delays[_random.Next(Delays.Length)];
                Log.Add($"{at} replay delay of {replica.Name} to {delay.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms");
                await replica.SetReplayDelayAsync(delay, cancellationToken).ConfigureAwait(false);
                await Task.Delay(Interval, cancellationToken).ConfigureAwait(false);
                break;
            default:
                Log.Add($"{at} kill the client connections on {replica.Name}");
                await replica.ExecuteAsync(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
                    cancellationToken).ConfigureAwait(false);
                await Task.Delay(Interval / 2, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private async Task HealAsync()
    {
        await _cluster.ResumeWalStreamAsync(null, CancellationToken.None).ConfigureAwait(false);
        foreach (var replica in _cluster.Replicas)
        {
            if (!replica.IsRunning)
            {
                await replica.StartAsync(CancellationToken.None).ConfigureAwait(false);
            }

            await replica.SetReplayDelayAsync(BaseReplayDelay, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
