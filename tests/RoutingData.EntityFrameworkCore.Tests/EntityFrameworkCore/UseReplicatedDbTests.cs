using Microsoft.EntityFrameworkCore;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.EntityFrameworkCore.Tests.EfTestHelpers;

namespace RoutingData.EntityFrameworkCore.Tests.EntityFrameworkCore;

[Collection(EfClusterGroup.Name)]
public sealed class UseReplicatedDbTests(EfClusterFixture fixture) : ClusterTestBase
{
    private static readonly Func<ShopContext, string, IAsyncEnumerable<Todo>> ByTitle =
        EF.CompileAsyncQuery((ShopContext db, string title) => db.Todos.Where(t => t.Title == title));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Linq_compiled_split_and_raw_sql_reads_are_served_by_replicas()
    {
        UseShared(fixture.Cluster);
        await using var db = NewContext(fixture.DataSource);

        _ = await db.Todos.Where(t => t.Done).ToListAsync(Ct);
        Assert.Equal((HostRole.Replica, RoutingReason.ClassifiedRead), (LastRoute(db).Role, LastRoute(db).Reason));

        await foreach (var _ in ByTitle(db, "none"))
        {
        }

        Assert.Equal(HostRole.Replica, LastRoute(db).Role);

        _ = await db.Todos.Include(t => t.Steps).AsSplitQuery().ToListAsync(Ct);
        Assert.Equal(HostRole.Replica, LastRoute(db).Role);

        _ = await db.Todos.FromSql($"SELECT * FROM todos WHERE \"Id\" > {0}").ToListAsync(Ct);
        Assert.Equal(HostRole.Replica, LastRoute(db).Role);

        _ = await db.Database.SqlQuery<int>($"SELECT count(*)::int AS \"Value\" FROM todos").SingleAsync(Ct);
        Assert.Equal(HostRole.Replica, LastRoute(db).Role);
    }

    [Fact]
    public async Task SaveChanges_then_an_immediate_query_sees_the_new_row_despite_the_replay_delay()
    {
        UseShared(fixture.Cluster);
        var title = Unique("ryw");
        await using var db = NewContext(fixture.DataSource);
        db.Todos.Add(new Todo { Title = title });
        await db.SaveChangesAsync(Ct);
        Assert.Equal((HostRole.Primary, RoutingReason.ClassifiedWrite), (LastRoute(db).Role, LastRoute(db).Reason));

        // The replicas replay 200 ms late: the read goes where the row already is.
        var found = await db.Todos.AsNoTracking().SingleOrDefaultAsync(t => t.Title == title, Ct);
        Assert.NotNull(found);

        // Another context in the same consistency scope (a request) sees it too.
        using (ConsistencyScope.Begin())
        {
            await using var writer = NewContext(fixture.DataSource);
            var second = Unique("scope");
            writer.Todos.Add(new Todo { Title = second });
            await writer.SaveChangesAsync(Ct);
            await using var reader = NewContext(fixture.DataSource);
            Assert.True(await reader.Todos.AnyAsync(t => t.Title == second, Ct));
        }
    }

    [Fact]
    public async Task Bulk_updates_raw_writes_and_transactions_go_to_the_primary_and_a_transaction_stays_on_one_host()
    {
        UseShared(fixture.Cluster);
        var title = Unique("bulk");
        await using var db = NewContext(fixture.DataSource);
        db.Todos.Add(new Todo { Title = title });
        await db.SaveChangesAsync(Ct);

        Assert.Equal(1, await db.Todos.Where(t => t.Title == title).ExecuteUpdateAsync(s => s.SetProperty(t => t.Done, true), Ct));
        Assert.Equal(HostRole.Primary, LastRoute(db).Role);
        Assert.Equal(1, await db.Database.ExecuteSqlAsync($"UPDATE todos SET \"Done\" = false WHERE \"Title\" = {title}", Ct));
        Assert.Equal(HostRole.Primary, LastRoute(db).Role);

        await using (var transaction = await db.Database.BeginTransactionAsync(Ct))
        {
            var hosts = new HashSet<string>();
            var todo = await db.Todos.SingleAsync(t => t.Title == title, Ct);
            hosts.Add(LastRoute(db).Host);
            Assert.Equal(RoutingReason.Transaction, LastRoute(db).Reason);
            todo.Done = true;
            db.Todos.Add(new Todo { Title = title + "-2" });
            await db.SaveChangesAsync(Ct);
            hosts.Add(LastRoute(db).Host);
            _ = await db.Todos.CountAsync(Ct);
            hosts.Add(LastRoute(db).Host);
            await transaction.CommitAsync(Ct);
            Assert.Single(hosts);
        }

        Assert.Equal(2, await db.Todos.Where(t => t.Title == title || t.Title == title + "-2").ExecuteDeleteAsync(Ct));
        Assert.Equal(HostRole.Primary, LastRoute(db).Role);
    }

    [Fact]
    public async Task A_streaming_query_keeps_read_your_writes_while_it_is_enumerated()
    {
        UseShared(fixture.Cluster);
        var title = Unique("stream");
        await using var db = NewContext(fixture.DataSource);
        db.Todos.AddRange(new Todo { Title = title }, new Todo { Title = title });
        await db.SaveChangesAsync(Ct);

        var seen = 0;
        await foreach (var todo in db.Todos.AsNoTracking().Where(t => t.Title == title).AsAsyncEnumerable().WithCancellation(Ct))
        {
            seen++;

            // While the stream is open, another context of the same session still reads its writes.
            await using var other = NewContext(fixture.DataSource);
            ((RoutedConnection)other.Database.GetDbConnection()).ConsistencySession = ((RoutedConnection)db.Database.GetDbConnection()).ConsistencySession;
            Assert.Equal(2, await other.Todos.CountAsync(t => t.Title == title, Ct));
        }

        Assert.Equal(2, seen);
    }

    [Fact]
    public async Task A_retrying_execution_strategy_runs_a_whole_unit_of_work_on_the_primary()
    {
        UseShared(fixture.Cluster);
        var title = Unique("strategy");
        await using var db = new ShopContext(new DbContextOptionsBuilder<ShopContext>()
            .UseReplicatedDb(fixture.DataSource, npgsql => npgsql.ExecutionStrategy(dependencies => new ReplicatedDbExecutionStrategy(dependencies)))
            .Options);
        var strategy = db.Database.CreateExecutionStrategy();
        Assert.True(strategy.RetriesOnFailure);
        await strategy.ExecuteAsync(async () =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(Ct);
            db.Todos.Add(new Todo { Title = title });
            await db.SaveChangesAsync(Ct);
            await transaction.CommitAsync(Ct);
        });

        Assert.True(await db.Todos.AnyAsync(t => t.Title == title, Ct));
    }
}
