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
