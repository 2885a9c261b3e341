using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using RoutingData;
using RoutingData.Demo;
using RoutingData.Testing;

// RoutingData demo: a local cluster (1 primary + 2 streaming replicas), where statements go and why,
// read-your-writes under lag, a mixed workload through services.AddReplicatedDb(...) with a live view of which host
// served what, and a live failover (kill, promote, writes resume, the returning old primary fenced).
var seconds = args.Length > 1 && args[0] == "--seconds" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
var screen = new Screen();

screen.Title("Starting a local PostgreSQL cluster: 1 primary + 2 streaming replicas …");
PostgresCluster cluster;
try
{
    cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 2 });
}
catch (PostgresBinariesNotFoundException)
{
    // One line, no stack trace: what to run, then run the demo again.
    Console.Error.WriteLine("The PostgreSQL server binaries are not installed: run 'sudo apt-get install -y postgresql' (or set ROUTINGDATA_PG_BIN to their folder), then run the demo again.");
    return 1;
}

await using var _cluster = cluster;
foreach (var node in cluster.Nodes)
{
    screen.Line($"  {node.Name,-4} {node.Address}:{node.Port}  {(node.Role == NodeRole.Primary ? "primary" : "replica")}");
}

screen.Line($"  ready in {cluster.StartupDuration.TotalSeconds:0.0} s ({cluster.BackendDescription})");

var services = new ServiceCollection();
services.AddReplicatedDb(cluster.ConnectionString, (_, builder) => builder.Options.TopologyProbeInterval = TimeSpan.FromMilliseconds(250));
await using var provider = services.BuildServiceProvider();
var db = provider.GetRequiredService<ReplicatedDataSource>();
await db.WaitForTopologyAsync();

await using (var setup = db.CreateConnection())
{
    await setup.ExecuteAsync("CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL DEFAULT 0)");
    await setup.ExecuteAsync("INSERT INTO accounts SELECT g, 'owner ' || g, 100 FROM generate_series(1, 1000) g");
}

await cluster.WaitForReplicasAsync();

screen.Title("Where does each statement go?");
string[] examples =
[
    "SELECT owner, balance FROM accounts WHERE id = 7",
    "UPDATE accounts SET balance = balance + 1 WHERE id = 7",
    "WITH moved AS (UPDATE accounts SET balance = balance - 1 WHERE id = 8 RETURNING id) SELECT count(*) FROM moved",
    "SELECT balance FROM accounts WHERE id = 9 FOR UPDATE",
    "SELECT 'DELETE FROM accounts' AS looks_like_a_write",
    "/* routing:primary */ SELECT count(*) FROM accounts",
    "EXPLAIN SELECT * FROM accounts",
];
foreach (var sql in examples)
{
    // A connection (and so a consistency session) per example: only the statement decides here. Within one session a
    // read right after a write would go to the primary — read-your-writes, shown next.
    await using var connection = db.CreateConnection();
    await connection.ExecuteAsync(sql);
    screen.Route(sql, connection.LastRoute!.Value);
}

screen.Title("Read-your-writes while the replicas lag 1 s behind");
foreach (var replica in cluster.Replicas)
{
    await replica.SetReplayDelayAsync(TimeSpan.FromSeconds(1));
}

string token;
await using (var writer = db.CreateConnection())
{
    await writer.ExecuteAsync("UPDATE accounts SET owner = 'renamed just now' WHERE id = 1");
    screen.Route("UPDATE accounts SET owner = 'renamed just now' WHERE id = 1", writer.LastRoute!.Value);
    var own = await writer.QuerySingleAsync<string>("SELECT owner FROM accounts WHERE id = 1");
    screen.Route("SELECT owner … (same session)", writer.LastRoute!.Value);
    screen.Line($"    the session sees its write: '{own}' (no replica has replayed it yet, so the primary answered)");
    token = (await db.ExportSessionAsync(writer.ConsistencySession))!;
}

await using (var stranger = db.CreateConnection())
{
    var stale = await stranger.QuerySingleAsync<string>("SELECT owner FROM accounts WHERE id = 1");
    screen.Route("SELECT owner … (another session, no token)", stranger.LastRoute!.Value);
    screen.Line($"    another session reads a replica: '{stale}' — stale by design, it wrote nothing");
}

await using (var nextRequest = db.CreateConnection(db.ResumeSession(token)))
{
    var carried = await nextRequest.QuerySingleAsync<string>("SELECT owner FROM accounts WHERE id = 1");
    screen.Route("SELECT owner … (next request, token resumed)", nextRequest.LastRoute!.Value);
    screen.Line($"    with the session token '{token}' carried over: '{carried}'");
}

foreach (var replica in cluster.Replicas)
{
    await replica.SetReplayDelayAsync(TimeSpan.Zero);
}

await cluster.WaitForReplicasAsync();

screen.Title($"Mixed workload for {seconds} s: 8 workers, 70% reads, 20% writes, 5% transactions, 5% session state");
var stats = new ConcurrentDictionary<(string Host, HostRole Role, RoutingReason Reason), long>();
var errors = 0L;
using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
var stopwatch = Stopwatch.StartNew();
var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
{
    var random = new Random(worker);
    while (!stop.IsCancellationRequested)
    {
        try
        {
            await using var connection = db.CreateConnection();
            var id = random.Next(1, 1001);
            var dice = random.Next(100);
            if (dice < 70)
            {
                await connection.QuerySingleAsync<decimal>("SELECT balance FROM accounts WHERE id = @id", new { id });
            }
            else if (dice < 90)
            {
                await connection.ExecuteAsync("UPDATE accounts SET balance = balance + 1 WHERE id = @id", new { id });
            }
            else if (dice < 95)
            {
                await connection.OpenAsync();
                await using var transaction = await connection.BeginTransactionAsync();
                await connection.ExecuteAsync("UPDATE accounts SET balance = balance - 1 WHERE id = @id", new { id }, transaction);
                await connection.QuerySingleAsync<decimal>("SELECT balance FROM accounts WHERE id = @id", new { id }, transaction);
                await transaction.CommitAsync();
            }
            else
            {
                // Open explicitly: Dapper closes a connection it opened itself, and closing ends the session.
                await connection.OpenAsync();
                await connection.ExecuteAsync("SET statement_timeout = '2s'");
                await connection.QuerySingleAsync<decimal>("SELECT balance FROM accounts WHERE id = @id", new { id });
            }

            var route = connection.LastRoute!.Value;
            stats.AddOrUpdate((route.Host, route.Role, route.Reason), 1, (_, n) => n + 1);
        }
        catch (Exception) when (!stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref errors);
        }
    }
})).ToArray();

while (!workers.All(w => w.IsCompleted))
{
    screen.Live(stopwatch.Elapsed, TimeSpan.FromSeconds(seconds), db.GetHosts(), stats, Interlocked.Read(ref errors));
    await Task.WhenAny(Task.WhenAll(workers), Task.Delay(500));
}

screen.Live(stopwatch.Elapsed, TimeSpan.FromSeconds(seconds), db.GetHosts(), stats, Interlocked.Read(ref errors), final: true);
var total = stats.Values.Sum();
var onReplicas = stats.Where(s => s.Key.Role == HostRole.Replica).Sum(s => s.Value);
screen.Line($"  {total} operations in {stopwatch.Elapsed.TotalSeconds:0.0} s ({total / stopwatch.Elapsed.TotalSeconds:0} ops/s), {100.0 * onReplicas / Math.Max(1, total):0}% served by replicas, {Interlocked.Read(ref errors)} errors");

screen.Title("Failover: the primary dies, a replica is promoted, the old primary comes back — writes go on");
var (oldPrimary, promoted, follower) = (cluster.Primary, cluster.Replicas[0], cluster.Replicas[1]);
var failoverClock = Stopwatch.StartNew();
var writeLog = new ConcurrentQueue<(double At, string Outcome)>();
using var stopWriting = new CancellationTokenSource();
var failoverWriter = Task.Run(async () =>
{
    for (var id = 1; !stopWriting.IsCancellationRequested; id++)
    {
        string outcome;
        try
        {
            await using var connection = db.CreateConnection();
            await connection.ExecuteAsync("UPDATE accounts SET balance = balance + 1 WHERE id = @id", new { id = (id % 1000) + 1 });
            outcome = "ok on " + connection.LastRoute!.Value.Host;
        }
        catch (Exception e) when (!stopWriting.IsCancellationRequested)
        {
            outcome = "failed: " + e.GetType().Name;
        }

        writeLog.Enqueue((failoverClock.Elapsed.TotalMilliseconds, outcome));
        await Task.Delay(20);
    }
});

double Mark(string what)
{
    var at = failoverClock.Elapsed.TotalMilliseconds;
    screen.Line($"  {at,7:0} ms  {what}");
    return at;
}

await Task.Delay(1000);
Mark($"kill -9 the primary {oldPrimary.Address}:{oldPrimary.Port}");
await oldPrimary.KillAsync();
await Task.Delay(1000);
var promotingAt = Mark($"promote the replica {promoted.Address}:{promoted.Port}");
await cluster.PromoteAsync(promoted);
Mark("promoted (timeline 2)");
await cluster.RepointAsync(follower, promoted);
Mark("the other replica follows the new primary");
await cluster.StartAsSplitBrainPrimaryAsync(oldPrimary);
var returnedAt = Mark("the old primary is back, writable, on timeline 1 — a split brain");
await Task.Delay(1500);
await stopWriting.CancelAsync();
await failoverWriter;

var log = writeLog.ToArray();
var firstAfter = log.FirstOrDefault(w => w.At >= promotingAt && w.Outcome.StartsWith("ok", StringComparison.Ordinal));
var failedWrites = log.Count(w => w.Outcome.StartsWith("failed", StringComparison.Ordinal));
var onOld = log.Count(w => w.At >= returnedAt && w.Outcome.EndsWith($":{oldPrimary.Port}", StringComparison.Ordinal));
screen.Line($"  writes: {log.Length} in all, {failedWrites} failed (the one in flight when the primary died may fail: its outcome is unknown)");
screen.Line($"  first write after the promotion command: +{firstAfter.At - promotingAt:0} ms, {firstAfter.Outcome}");
screen.Line($"  writes that reached the old primary after it came back: {onOld}");
foreach (var host in db.GetHosts())
{
    screen.Line($"    {host.Host,-22} {host.Role?.ToString() ?? "?",-8} timeline {host.Timeline}  {(host.TakesReads ? "takes reads" : host.Role == HostRole.Primary && host.Timeline < 2 ? "fenced: never written to" : string.Empty)}");
}

screen.Title("Shutting the cluster down …");
await provider.DisposeAsync();
await cluster.DisposeAsync();
screen.Line("  done: no server process and no data folder left behind.");
return 0;
