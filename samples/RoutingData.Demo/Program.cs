using Dapper;
using Microsoft.Extensions.DependencyInjection;
using RoutingData;
using RoutingData.Demo;
using RoutingData.Testing;
using Spectre.Console;

// RoutingData demo: a local cluster (1 primary + 2 streaming replicas), where statements go and why,
// read-your-writes under lag with a session token, then a live view (the one `routingdata top` shows) of sessions
// that write and read their writes while the replicas lag, and of a failover (kill, promote, writes resume, the
// returning old primary fenced).
if (Console.IsOutputRedirected)
{
    AnsiConsole.Console.Profile.Width = 120; // Not a terminal: wide enough for the live view, rather than the default 80.
}

var screen = new Screen(AnsiConsole.Console);

screen.Title("Starting a local PostgreSQL cluster: 1 primary + 2 streaming replicas …");
if (await PostgresSetup.StartClusterAsync(screen.Console, new PostgresClusterOptions { Replicas = 2 }) is not { } cluster)
{
    return 1;
}

await using var _cluster = cluster;
foreach (var node in cluster.Nodes)
{
    screen.Line($"  {node.Name,-4} {node.Address}:{node.Port}  {(node.Role == NodeRole.Primary ? "primary" : "replica")}");
}

screen.Line($"  ready in {cluster.StartupDuration.TotalSeconds:0.0} s ({cluster.BackendDescription})");

var services = new ServiceCollection();
services.AddReplicatedDb(cluster.ConnectionString, (_, builder) =>
{
    builder.Options.TopologyProbeInterval = TimeSpan.FromMilliseconds(250);
    builder.Options.MaxProbeBackoff = TimeSpan.FromSeconds(1); // So the view shows the old primary soon after it returns.
});
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

screen.Title("Live: sessions that write then read while the replicas lag, then a failover");
var live = new LivePhase(db, cluster, screen.Console);
await live.RunAsync();
var (checks, violations, lost, onOldPrimary) = live.Result;
screen.Line($"  read-your-writes: {checks} reads checked against the session's own write, {violations} violations; {lost} write(s) lost by the failover, each reported to its session");
screen.Line($"  writes that reached the old primary after it came back: {onOldPrimary}");

screen.Title("Shutting the cluster down …");
await provider.DisposeAsync();
await cluster.DisposeAsync();
screen.Line("  done: no server process and no data folder left behind.");
return violations == 0 && onOldPrimary == 0 ? 0 : 1;
