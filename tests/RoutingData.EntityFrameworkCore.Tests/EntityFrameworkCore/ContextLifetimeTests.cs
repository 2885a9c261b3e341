using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.EntityFrameworkCore.Tests.EfTestHelpers;

namespace RoutingData.EntityFrameworkCore.Tests.EntityFrameworkCore;

[Collection(EfClusterGroup.Name)]
public sealed class ContextLifetimeTests(EfClusterFixture fixture) : ClusterTestBase
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddDbContext_AddDbContextPool_and_AddDbContextFactory_resolve_the_registered_data_source()
    {
        UseShared(fixture.Cluster);
        var services = new ServiceCollection();
        services.AddSingleton(fixture.DataSource);
        services.AddDbContext<ShopContext>((provider, options) => options.UseReplicatedDb(provider));
        services.AddDbContextPool<PrimaryShopContext>((provider, options) => options.UseReplicatedDb(provider));
        services.AddDbContextFactory<FactoryContext>((provider, options) => options.UseReplicatedDb(provider));
        await using var provider = services.BuildServiceProvider(validateScopes: true);
        await using var scope = provider.CreateAsyncScope();

        var scoped = scope.ServiceProvider.GetRequiredService<ShopContext>();
        _ = await scoped.Todos.CountAsync(Ct);
        Assert.Equal(HostRole.Replica, LastRoute(scoped).Role);

        var pooled = scope.ServiceProvider.GetRequiredService<PrimaryShopContext>();
        _ = await pooled.Todos.CountAsync(Ct);
        Assert.Equal(HostRole.Primary, LastRoute(pooled).Role);

        await using var made = await scope.ServiceProvider.GetRequiredService<IDbContextFactory<FactoryContext>>().CreateDbContextAsync(Ct);
        _ = await made.Todos.CountAsync(Ct);
        Assert.Equal(HostRole.Replica, LastRoute(made).Role);
    }

    [Fact]
    public async Task Pooled_contexts_do_not_leak_a_session_into_the_next_lease()
    {
        UseShared(fixture.Cluster);
        var services = new ServiceCollection();
        services.AddSingleton(fixture.DataSource);
        services.AddDbContextPool<ShopContext>((provider, options) => options.UseReplicatedDb(provider), poolSize: 1);
        await using var provider = services.BuildServiceProvider();

        ShopContext first;
        await using (var scope = provider.CreateAsyncScope())
        {
            first = scope.ServiceProvider.GetRequiredService<ShopContext>();
            first.Todos.Add(new Todo { Title = Unique("pool") });
            await first.SaveChangesAsync(Ct);
            Assert.NotNull(await fixture.DataSource.GetSessionTokenAsync(Session(first), Ct));
        }

        await using (var scope = provider.CreateAsyncScope())
        {
            var second = scope.ServiceProvider.GetRequiredService<ShopContext>();
            Assert.Same(first, second);
            Assert.Null(Session(second).Token);

            // A fresh session: with nothing written, reads go to a replica at once.
            _ = await second.Todos.CountAsync(Ct);
            Assert.Equal(HostRole.Replica, LastRoute(second).Role);
        }

        static ConsistencySession Session(DbContext db) => ((RoutedConnection)db.Database.GetDbConnection()).ConsistencySession;
    }

    [Fact]
    public async Task Migrations_run_on_the_primary_and_a_second_run_sees_the_history_at_once()
    {
        UseShared(fixture.Cluster);
        var routes = new RouteRecorder();
        var options = new DbContextOptionsBuilder<MigratingContext>()
            .UseReplicatedDb(fixture.DataSource)
            .AddInterceptors(routes)
            .ConfigureWarnings(w => w.Ignore(RelationalEventId.PendingModelChangesWarning))
            .Options;
        await using (var db = new MigratingContext(options))
        {
            await db.Database.MigrateAsync(Ct);
        }

        // The replicas replay 200 ms late: a history read there would apply the migration again (and fail).
        await using (var db = new MigratingContext(options))
        {
            await db.Database.MigrateAsync(Ct);
            Assert.Empty(await db.Database.GetPendingMigrationsAsync(Ct));
        }

        Assert.NotEmpty(routes.Routes);
        Assert.All(routes.Routes, route => Assert.Equal(HostRole.Primary, route.Role));
    }

    public sealed class FactoryContext(DbContextOptions<FactoryContext> options) : DbContext(options)
    {
        public DbSet<Todo> Todos => Set<Todo>();

        protected override void OnModelCreating(ModelBuilder modelBuilder)
        {
            modelBuilder.Entity<Todo>().ToTable("todos").Ignore(t => t.Audit).Ignore(t => t.Steps);
        }
    }

    public sealed class MigratingContext(DbContextOptions<MigratingContext> options) : DbContext(options)
    {
        public DbSet<Widget> Widgets => Set<Widget>();
    }

    public sealed class Widget
    {
        public int Id { get; set; }

        public string Name { get; set; } = string.Empty;
    }

    [DbContext(typeof(MigratingContext))]
    [Migration("20260101000000_Widgets")]
    public sealed class WidgetsMigration : Migration
    {
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            ArgumentNullException.ThrowIfNull(migrationBuilder);
            migrationBuilder.CreateTable(
                name: "Widgets",
                columns: table => new
                {
                    Id = table.Column<int>(nullable: false).Annotation("Npgsql:ValueGenerationStrategy", Npgsql.EntityFrameworkCore.PostgreSQL.Metadata.NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Name = table.Column<string>(nullable: false),
                },
                constraints: table => table.PrimaryKey("PK_Widgets", x => x.Id));
        }
    }

    /// <summary>Where every command of a context ran.</summary>
    private sealed class RouteRecorder : DbCommandInterceptor
    {
        public List<RouteInfo> Routes { get; } = [];

        public override ValueTask<System.Data.Common.DbDataReader> ReaderExecutedAsync(System.Data.Common.DbCommand command, CommandExecutedEventData eventData, System.Data.Common.DbDataReader result, CancellationToken cancellationToken = default)
        {
            Record(command);
            return base.ReaderExecutedAsync(command, eventData, result, cancellationToken);
        }

        public override ValueTask<int> NonQueryExecutedAsync(System.Data.Common.DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
        {
            Record(command);
            return base.NonQueryExecutedAsync(command, eventData, result, cancellationToken);
        }

        public override ValueTask<object?> ScalarExecutedAsync(System.Data.Common.DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
        {
            Record(command);
            return base.ScalarExecutedAsync(command, eventData, result, cancellationToken);
        }

        private void Record(System.Data.Common.DbCommand command)
        {
            lock (Routes)
            {
                Routes.Add(((RoutedCommand)command).LastRoute!.Value);
            }
        }
    }
}
