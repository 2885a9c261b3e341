using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Npgsql;
using RoutingData.Testing;

namespace RoutingData.ConsistencyCheck;

/// <summary>
/// The failover scenario, side by side: a steady write loop (and optionally a read loop) while the primary is killed,
/// a standby is promoted a second later, the other standby keeps following the dead primary (orphaned), and the old
/// primary comes back as a second primary. Measured: promotion → first successful write, failed writes and reads,
/// writes that reach the old primary after it returns, reads served by the orphaned standby after the promotion.
/// </summary>
internal static class FailoverScenario
{
    /// <param name="withReads">Whether a reader runs beside the writer.</param>
    /// <param name="rounds">Rounds per system.</param>
    /// <param name="idle">No traffic at all until the promotion: the writer starts the moment it is done, so only the
    /// system's own detection (no failed command to learn from) can have found the new primary.</param>
    public static async Task RunAsync(bool withReads, int rounds, bool idle = false)
    {
        Console.WriteLine($"failover: 1 primary + 2 standbys; kill -9 the primary, promote a standby 1 s later, the other standby stays on the old timeline, the old primary returns as a second primary 2 s later; one writer{(withReads ? " and one reader" : string.Empty)}{(idle ? " started only once the promotion is done (no traffic before it)" : string.Empty)}, a new connection per operation; {rounds} round(s) per system");
        Console.WriteLine("| system | promotion → first write (ms) | failed writes | failed reads | writes on the old primary after it returned | reads from the orphaned standby after promotion |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        for (var round = 0; round < rounds; round++)
        {
            Print(await RunOneAsync("RoutingData", RoutingData, withReads, idle));
            Print(await RunOneAsync("Npgsql multi-host", MultiHost, withReads, idle));
        }
    }

    private static void Print(Result r) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {r.System} | {(r.FirstWriteAfterPromotion is { } ms ? ms.ToString("0", CultureInfo.InvariantCulture) : "none")} | {r.FailedWrites} | {r.FailedReads} | {r.WritesOnOldPrimary} | {r.OrphanReads} |"));

    private static async Task<(Func<bool, Task<DbConnection>> Open, IAsyncDisposable Owner)> RoutingData(PostgresCluster cluster)
    {
        var builder = new ReplicatedDataSourceBuilder(cluster.ConnectionString);
        builder.Options.TopologyProbeInterval = TimeSpan.FromSeconds(1);
        var dataSource = builder.Build();
        await dataSource.WaitForTopologyAsync();
        return (async _ => await dataSource.OpenConnectionAsync(), dataSource);
    }

    private static Task<(Func<bool, Task<DbConnection>> Open, IAsyncDisposable Owner)> MultiHost(PostgresCluster cluster)
    {
        var builder = new NpgsqlDataSourceBuilder(cluster.ConnectionString);
        builder.ConnectionStringBuilder.LoadBalanceHosts = true;
        var dataSource = builder.BuildMultiHost();
        Func<bool, Task<DbConnection>> open = async write =>
            await dataSource.OpenConnectionAsync(write ? TargetSessionAttributes.Primary : TargetSessionAttributes.PreferStandby);
        return Task.FromResult<(Func<bool, Task<DbConnection>>, IAsyncDisposable)>((open, dataSource));
    }

    private static async Task<Result> RunOneAsync(string name, Func<PostgresCluster, Task<(Func<bool, Task<DbConnection>> Open, IAsyncDisposable Owner)>> create, bool withReads, bool idle)
    {
        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE t (id bigserial primary key, phase int)");
        await cluster.WaitForReplicasAsync();
        var (oldPrimary, promoted, orphan) = (cluster.Primary, cluster.Replicas[0], cluster.Replicas[1]);
        var (open, owner) = await create(cluster);
        await using var _ = owner;

        var clock = Stopwatch.StartNew();
        var phase = 0;
        double promotedAt = double.MaxValue;
        var writes = new List<(double At, bool Ok)>();
        var reads = new List<(double At, bool Ok, int Port)>();
        using var stop = new CancellationTokenSource();

        async Task WriteLoopAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var ok = false;
                try
                {
                    await using var connection = await open(true);
                    await using var command = connection.CreateCommand();
                    command.CommandText = "INSERT INTO t (phase) VALUES (" + Volatile.Read(ref phase).ToString(CultureInfo.InvariantCulture) + ")";
                    await command.ExecuteNonQueryAsync();
                    ok = true;
                }
                catch (Exception e) when (e is DbException or NoSuitableHostException or InvalidOperationException or TimeoutException)
                {
                    await Task.Delay(5);
                }

                lock (writes)
                {
                    writes.Add((clock.Elapsed.TotalMilliseconds, ok));
                }
            }
        }

        async Task ReadLoopAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var (ok, port) = (false, 0);
                try
                {
                    await using var connection = await open(false);
                    await using var command = connection.CreateCommand();
                    command.CommandText = "SELECT inet_server_port()";
                    port = (int)(await command.ExecuteScalarAsync())!;
                    ok = true;
                }
                catch (Exception e) when (e is DbException or NoSuitableHostException or InvalidOperationException or TimeoutException)
                {
                    await Task.Delay(5);
                }

                lock (reads)
                {
                    reads.Add((clock.Elapsed.TotalMilliseconds, ok, port));
                }
            }
        }

        var loops = new List<Task>();
        void StartLoops()
        {
            loops.Add(Task.Run(WriteLoopAsync));
            if (withReads)
            {
                loops.Add(Task.Run(ReadLoopAsync));
            }
        }

        if (!idle)
        {
            StartLoops();
        }

        await Task.Delay(2000);
        await oldPrimary.KillAsync();
        Volatile.Write(ref phase, 1);
        await Task.Delay(1000);
        var promoting = clock.Elapsed.TotalMilliseconds;
        await cluster.PromoteAsync(promoted);
        promotedAt = promoting;
        Volatile.Write(ref phase, 2);
        if (idle)
        {
            StartLoops();
        }

        await Task.Delay(2000);
        await cluster.StartAsSplitBrainPrimaryAsync(oldPrimary);
        Volatile.Write(ref phase, 3);
        await Task.Delay(4000);
        await stop.CancelAsync();
        await Task.WhenAll(loops);

        var firstWrite = writes.Where(w => w.Ok && w.At >= promotedAt).Select(w => (double?)w.At - promotedAt).FirstOrDefault();
        var failedWrites = writes.Count(w => !w.Ok);
        var failedReads = reads.Count(r => !r.Ok);
        var onOld = await oldPrimary.ExecuteScalarAsync<long>("SELECT count(*) FROM t WHERE phase = 3");
        var orphanReads = reads.Count(r => r.Ok && r.At > promotedAt + 1000 && r.Port == orphan.Port);
        return new Result(name, firstWrite, failedWrites, failedReads, onOld, orphanReads);
    }

    private sealed record Result(string System, double? FirstWriteAfterPromotion, int FailedWrites, int FailedReads, long WritesOnOldPrimary, int OrphanReads);
}
