using BenchmarkDotNet.Attributes;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using RoutingData.EntityFrameworkCore;
using RoutingData.Testing;

namespace RoutingData.Benchmarks;

/// <summary>
/// A simple LINQ query (a short context lifetime: new context, one query, dispose) through <c>UseReplicatedDb</c> against
/// plain <c>UseNpgsql</c> on the same replica, in the same run. Goal: at most 5 % overhead.
/// </summary>
[MemoryDiagnoser]
public class EfCoreOverheadBenchmarks
{
    private PostgresCluster _cluster = null!;
    private NpgsqlDataSource _raw = null!;
    private ReplicatedDataSource _routed = null!;
    private DbContextOptions<BenchContext> _plainOptions = null!;
    private DbContextOptions<BenchContext> _routedOptions = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 1 });
        await _cluster.Primary.ExecuteAsync("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g");
        await _cluster.WaitForReplicasAsync();
        var replica = _cluster.Replicas[0];
        _raw = NpgsqlDataSource.Create(replica.ConnectionString);
        _routed = new ReplicatedDataSourceBuilder(_cluster.ConnectionString).Build();
        await _routed.WaitForTopologyAsync();
        _plainOptions = new DbContextOptionsBuilder<BenchContext>().UseNpgsql(_raw).Options;
        _routedOptions = new DbContextOptionsBuilder<BenchContext>().UseReplicatedDb(_routed).Options;

        await using var db = new BenchContext(_routedOptions);
        _ = await Query(db);
        if (((RoutedConnection)db.Database.GetDbConnection()).LastRoute?.Host != $"{replica.Address}:{replica.Port}")
        {
            throw new InvalidOperationException("The routed query did not run on the replica.");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _raw.DisposeAsync();
        await _routed.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "UseNpgsql: LINQ query, 10 rows")]
    public async Task<int> PlainNpgsql()
    {
        await using var db = new BenchContext(_plainOptions);
        return (await Query(db)).Count;
    }

    [Benchmark(Description = "UseReplicatedDb: LINQ query, 10 rows")]
    public async Task<int> Replicated()
    {
        await using var db = new BenchContext(_routedOptions);
        return (await Query(db)).Count;
    }

    /// <summary>
    /// Alternates rounds of both in one process and prints the median time per query of each (less noisy on a shared
    /// machine than a short BenchmarkDotNet job): <c>dotnet run -c Release --project tests/RoutingData.Benchmarks -- efcore</c>.
    /// </summary>
    /// <returns>A task that completes when the comparison is printed.</returns>
    public static async Task CompareAsync()
    {
        var benchmarks = new EfCoreOverheadBenchmarks();
        await benchmarks.SetupAsync();
        try
        {
            const int PerRound = 2000;
            var plain = new List<double>();
            var routed = new List<double>();
            for (var round = 0; round < 7; round++)
            {
                plain.Add(await TimeAsync(benchmarks.PlainNpgsql, PerRound));
                routed.Add(await TimeAsync(benchmarks.Replicated, PerRound));
            }

            plain.Sort();
            routed.Sort();
            var (p, r) = (plain[plain.Count / 2], routed[routed.Count / 2]);
            Console.WriteLine(FormattableString.Invariant($"UseNpgsql {p:F1} us, UseReplicatedDb {r:F1} us per query (median of 7 rounds of {PerRound}); ratio {r / p:F3}"));
        }
        finally
        {
            await benchmarks.CleanupAsync();
        }

        static async Task<double> TimeAsync(Func<Task<int>> query, int count)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            for (var i = 0; i < count; i++)
            {
                _ = await query();
            }

            return System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMicroseconds / count;
        }
    }

    private static Task<List<Item>> Query(BenchContext db) =>
        db.Items.AsNoTracking().Where(i => i.Id <= 10).OrderBy(i => i.Id).ToListAsync();

    public sealed class Item
    {
        public int Id { get; set; }

        public string Name { get; set; } = string.Empty;
    }

    public sealed class BenchContext(DbContextOptions<BenchContext> options) : DbContext(options)
    {
        public DbSet<Item> Items => Set<Item>();

        protected override void OnModelCreating(ModelBuilder modelBuilder) =>
            modelBuilder.Entity<Item>(e =>
            {
                e.ToTable("items");
                e.Property(i => i.Id).HasColumnName("id");
                e.Property(i => i.Name).HasColumnName("name");
            });
    }
}
