using System.Collections.Concurrent;
using System.Diagnostics;
using Dapper;
using RoutingData.Testing;
using RoutingData.Tool.LiveView;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace RoutingData.Demo;

/// <summary>
/// The live phase: sessions that write and then read their writes while the replicas replay 800 ms behind (each read
/// checked against the session's write), readers with no writes of their own, and then a failover — the primary
/// killed, a replica promoted, the other one repointed, the old primary back as a second, fenced primary — all shown
/// in the same view as <c>routingdata top</c>.
/// </summary>
internal sealed class LivePhase(ReplicatedDataSource db, PostgresCluster cluster, IAnsiConsole console)
{
    private const int Sessions = 6;
    private const int Readers = 3;
    private const int IdsPerSession = 150;
    private static readonly TimeSpan ReplayDelay = TimeSpan.FromMilliseconds(800);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<string> _events = new();
    private readonly ConcurrentDictionary<string, int> _errors = new();
    private readonly TrafficWindow _traffic = new(TimeSpan.FromSeconds(2), TimeProvider.System);
    private string _phase = "starting";
    private long _writes, _failedWrites, _checks, _violations, _lostWrites, _ownFromPrimary, _ownFromReplica, _otherFromPrimary, _otherFromReplica;
    private long _promotedAt = long.MaxValue, _oldPrimaryBackAt = long.MaxValue, _writesOnOldPrimary;
    private string? _oldPrimaryHost;
    private int _firstWriteNoted;

    /// <summary>The read-your-writes checks made and how many saw less than the session wrote.</summary>
    public (long Checks, long Violations, long LostWrites, long WritesOnOldPrimary) Result =>
        (Interlocked.Read(ref _checks), Interlocked.Read(ref _violations), Interlocked.Read(ref _lostWrites), Interlocked.Read(ref _writesOnOldPrimary));

    public async Task RunAsync()
    {
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, Sessions).Select(w => Task.Run(() => SessionLoopAsync(w, stop.Token)))
            .Concat(Enumerable.Range(0, Readers).Select(r => Task.Run(() => ReaderLoopAsync(r, stop.Token))))
            .ToArray();
        var scenario = ScenarioAsync(stop, workers);
        await LiveRunner.RunAsync(console, _ => ValueTask.FromResult<IRenderable>(Render()), TimeSpan.FromMilliseconds(250), scenario, printEvery: 16, CancellationToken.None);
        await scenario;
    }

    private async Task ScenarioAsync(CancellationTokenSource stop, Task[] workers)
    {
        var (oldPrimary, promoted, follower) = (cluster.Primary, cluster.Replicas[0], cluster.Replicas[1]);
        _oldPrimaryHost = $"{oldPrimary.Address}:{oldPrimary.Port}";

        Phase($"replicas replay {ReplayDelay.TotalMilliseconds:0} ms behind: sessions write, then read their own writes");
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(ReplayDelay);
        }

        Event($"replicas now replay {ReplayDelay.TotalMilliseconds:0} ms behind the primary");
        await Task.Delay(TimeSpan.FromSeconds(9));

        Phase("the replicas catch up");
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(TimeSpan.Zero);
        }

        await cluster.WaitForReplicasAsync();
        Event("replay delay removed: the replicas caught up");
        await Task.Delay(TimeSpan.FromSeconds(3));

        Phase("failover: the primary dies, a replica is promoted");
        Event($"kill -9 the primary {_oldPrimaryHost}");
        await oldPrimary.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(1));
        Event($"promote the replica {promoted.Address}:{promoted.Port}");
        Interlocked.Exchange(ref _promotedAt, _clock.ElapsedMilliseconds);
        await cluster.PromoteAsync(promoted);
        Event($"{promoted.Address}:{promoted.Port} is the primary now, on timeline {await promoted.GetTimelineAsync()}");
        await cluster.RepointAsync(follower, promoted);
        Event($"{follower.Address}:{follower.Port} follows the new primary");
        await cluster.StartAsSplitBrainPrimaryAsync(oldPrimary);
        Interlocked.Exchange(ref _oldPrimaryBackAt, _clock.ElapsedMilliseconds);
        Event($"the old primary {_oldPrimaryHost} is back, writable, on timeline 1: fenced, it gets nothing");
        Phase("after the failover: writes go on, the old primary is fenced");
        await Task.Delay(TimeSpan.FromSeconds(5));

        Phase("done");
        await stop.CancelAsync();
        await Task.WhenAll(workers);
    }

    /// <summary>A session: write a row, read it back at once, read it again a little later; each read must see the write.</summary>
    private async Task SessionLoopAsync(int worker, CancellationToken stop)
    {
        var random = new Random(worker);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = db.CreateConnection();

                // Open explicitly: Dapper closes a connection it opened itself, and closing ends the session.
                await connection.OpenAsync(stop);
                var id = 1 + (worker * IdsPerSession) + random.Next(IdsPerSession);
                decimal written;
                try
                {
                    written = await connection.QuerySingleAsync<decimal>(new CommandDefinition("UPDATE accounts SET balance = balance + 1 WHERE id = @id RETURNING balance", new { id }, cancellationToken: stop));
                    NoteWrite(connection.LastRoute!.Value);
                }
                catch (Exception e) when (!stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _failedWrites);
                    NoteError(e);
                    await Task.Delay(50, stop);
                    continue;
                }

                await CheckAsync(connection, id, written, stop);
                await Task.Delay(random.Next(300, 1500), stop);
                await CheckAsync(connection, id, written, stop);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task CheckAsync(RoutedConnection connection, int id, decimal written, CancellationToken stop)
    {
        try
        {
            var seen = await connection.QuerySingleAsync<decimal>(new CommandDefinition("SELECT balance FROM accounts WHERE id = @id", new { id }, cancellationToken: stop));
            Interlocked.Increment(ref _checks);
            if (seen < written)
            {
                Interlocked.Increment(ref _violations);
                Event($"VIOLATION: a session wrote {written} to row {id}, then read {seen}");
            }

            if (connection.LastRoute!.Value.Role == HostRole.Replica)
            {
                Interlocked.Increment(ref _ownFromReplica);
            }
            else
            {
                Interlocked.Increment(ref _ownFromPrimary);
            }
        }
        catch (SessionWritesLostException)
        {
            // The failover lost this session's write (asynchronous replication): it is told so, not shown older data.
            Interlocked.Increment(ref _lostWrites);
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            NoteError(e);
        }
    }

    /// <summary>A reader with no writes of its own: any replica within the lag bound serves it.</summary>
    private async Task ReaderLoopAsync(int reader, CancellationToken stop)
    {
        var random = new Random(100 + reader);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = db.CreateConnection();
                await connection.QuerySingleAsync<decimal>(new CommandDefinition("SELECT balance FROM accounts WHERE id = @id", new { id = random.Next(1, 1001) }, cancellationToken: stop));
                if (connection.LastRoute!.Value.Role == HostRole.Replica)
                {
                    Interlocked.Increment(ref _otherFromReplica);
                }
                else
                {
                    Interlocked.Increment(ref _otherFromPrimary);
                }

                await Task.Delay(10, stop);
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                NoteError(e);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private void NoteWrite(RouteInfo route)
    {
        Interlocked.Increment(ref _writes);
        var now = _clock.ElapsedMilliseconds;
        if (now >= Interlocked.Read(ref _oldPrimaryBackAt) && route.Host == _oldPrimaryHost)
        {
            Interlocked.Increment(ref _writesOnOldPrimary);
        }

        var promotedAt = Interlocked.Read(ref _promotedAt);
        if (now >= promotedAt && route.Host != _oldPrimaryHost && Interlocked.Exchange(ref _firstWriteNoted, 1) == 0)
        {
            Event($"writes resume on {route.Host}: the first one +{now - promotedAt} ms after the promote command");
        }
    }

    private void NoteError(Exception e) => _errors.AddOrUpdate(e.GetType().Name, 1, (_, n) => n + 1);

    private void Phase(string text) => Volatile.Write(ref _phase, text);

    private void Event(string text) => _events.Enqueue($"{_clock.Elapsed.TotalSeconds,5:0.0} s  {text}");

    private Rows Render()
    {
        var hosts = db.GetHosts();
        _traffic.Add(hosts.ToDictionary(h => h.Host, h => (double)h.CommandsRouted));
        var table = ClusterView.Render(
            $"RoutingData demo · {_clock.Elapsed.TotalSeconds:0.0} s · {Volatile.Read(ref _phase)}",
            HostRow.From(hosts, _traffic.Rates()),
            "cmd/s",
            "traffic: the commands this process routed to each host, per second over the last 2 s");

        var violations = Interlocked.Read(ref _violations);
        var errors = _errors.IsEmpty ? "none" : string.Join(", ", _errors.OrderByDescending(e => e.Value).Take(3).Select(e => $"{e.Key} {e.Value}"));
        var stats = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn()
            .AddRow("[bold]read-your-writes checks[/]", $"{Interlocked.Read(ref _checks)}, violations: " + (violations == 0 ? "[green]0[/]" : $"[red bold]{violations}[/]"))
            .AddRow("own writes read from", $"[yellow]primary {Interlocked.Read(ref _ownFromPrimary)}[/] (no replica had replayed them yet) · [green]replica {Interlocked.Read(ref _ownFromReplica)}[/] (caught up)")
            .AddRow("other reads from", $"[green]replica {Interlocked.Read(ref _otherFromReplica)}[/] · [yellow]primary {Interlocked.Read(ref _otherFromPrimary)}[/]")
            .AddRow("writes", $"{Interlocked.Read(ref _writes)} ok · {Interlocked.Read(ref _failedWrites)} failed (in flight when the primary died: outcome unknown, never re-sent)")
            .AddRow("writes the failover lost", $"{Interlocked.Read(ref _lostWrites)} (each session told: SessionWritesLostException, not a stale read)")
            .AddRow("writes on the old primary", $"{Interlocked.Read(ref _writesOnOldPrimary)} after it came back")
            .AddRow("errors", Markup.Escape(errors));
        var events = _events.IsEmpty ? new Markup("[grey]-[/]") : (IRenderable)new Rows(_events.TakeLast(8).Select(e => new Markup(Markup.Escape(e))));
        return new Rows(
            table,
            new Panel(stats).Header($"{Sessions} sessions write then read · {Readers} readers").Border(BoxBorder.Rounded),
            new Panel(events).Header("events").Border(BoxBorder.Rounded));
    }
}
