using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using RoutingData.AspNetCore;
using RoutingData.EntityFrameworkCore;
using RoutingData.Testing;

namespace RoutingData.WebSample;

/// <summary>The sample app: a todo API over EF Core on a replicated cluster, and a page that shows where each read ran.</summary>
public static class WebSampleApp
{
    /// <summary>Builds the app for a cluster (tests start it on a loopback port with <c>--urls http://127.0.0.1:0</c>).</summary>
    /// <param name="connectionString">The cluster's multi-host connection string.</param>
    /// <param name="args">Command-line arguments (configuration: <c>--RoutingData:InvalidTokenHandling=Reject</c>, <c>--DataProtection:KeysPath=…</c>).</param>
    /// <returns>The app, not started.</returns>
    public static WebApplication Build(string connectionString, string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration["RoutingData:ConnectionString"] = connectionString;
        builder.Logging.AddFilter("Npgsql", LogLevel.Warning).AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddReplicatedDb(builder.Configuration.GetSection("RoutingData"));
        builder.Services.AddDbContextPool<TodoContext>((services, options) => options.UseReplicatedDb(services));
        builder.Services.AddControllers().AddApplicationPart(typeof(StatsController).Assembly);
        builder.Services.AddHealthChecks().AddReplicatedDb();

        // Session tokens are protected with these keys: app servers that share them accept each other's tokens.
        var protection = builder.Services.AddDataProtection().SetApplicationName("RoutingData.WebSample");
        if (builder.Configuration["DataProtection:KeysPath"] is { Length: > 0 } keys)
        {
            protection.PersistKeysToFileSystem(new DirectoryInfo(keys));
        }

        var app = builder.Build();
        app.UseReplicatedDbSessions();

        app.MapGet("/", () => Results.Content(Page.Html, "text/html; charset=utf-8"));
        app.MapHealthChecks("/health");
        app.MapControllers();

        var todos = app.MapGroup("/api/todos");
        todos.MapGet("/", async (TodoContext db, CancellationToken ct) =>
        {
            var items = await db.Todos.AsNoTracking().OrderByDescending(t => t.Id).Take(50).ToListAsync(ct);
            return Results.Ok(new { items, servedBy = db.ServedBy() });
        });
        todos.MapGet("/{id:int}", async (int id, TodoContext db, CancellationToken ct) =>
        {
            var item = await db.Todos.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, ct);
            return item is null ? Results.NotFound(new { servedBy = db.ServedBy() }) : Results.Ok(new { item, servedBy = db.ServedBy() });
        });
        todos.MapGet("/{id:int}/fresh", async (int id, TodoContext db, CancellationToken ct) =>
        {
            var item = await db.Todos.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, ct);
            return item is null ? Results.NotFound(new { servedBy = db.ServedBy() }) : Results.Ok(new { item, servedBy = db.ServedBy() });
        }).WithMetadata(new ReadFromPrimaryAttribute());
        todos.MapGet("/{id:int}/events", async (int id, TodoContext db, CancellationToken ct) =>
        {
            var events = await db.Events.AsNoTracking().Where(e => e.TodoId == id).ToListAsync(ct);
            return Results.Ok(new { events, servedBy = db.ServedBy() });
        });
        todos.MapPost("/", async (NewTodo input, TodoContext db, TimeProvider clock, CancellationToken ct) =>
        {
            var item = new TodoItem { Title = input.Title, CreatedAt = clock.GetUtcNow() };
            db.Todos.Add(item);
            await db.SaveChangesAsync(ct);
            var servedBy = db.ServedBy();
            db.Events.Add(new TodoEvent { TodoId = item.Id, What = "created", At = clock.GetUtcNow() });
            await db.SaveChangesAsync(ct);
            return Results.Created($"/api/todos/{item.Id}", new { item, servedBy });
        });

        return app;
    }

    /// <summary>Creates the tables if the database has none.</summary>
    /// <param name="app">The app.</param>
    /// <param name="cancellationToken">Cancels the creation.</param>
    /// <returns>A task that completes when the schema exists.</returns>
    public static async Task EnsureSchemaAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<TodoContext>().Database.EnsureCreatedAsync(cancellationToken);
    }

    /// <summary>Runs the sample: against <c>RoutingData:ConnectionString</c> if set, else a local cluster it starts and removes.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        var configured = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).Build()["RoutingData:ConnectionString"];
        PostgresCluster? cluster = null;
        if (string.IsNullOrEmpty(configured))
        {
            Console.WriteLine("Starting a local cluster: a primary and two replicas that replay 500 ms late …");
            try
            {
                var options = new PostgresClusterOptions { Replicas = 2 };
                options.ServerSettings["recovery_min_apply_delay"] = "500ms";
                cluster = await PostgresCluster.StartAsync(options);
            }
            catch (PostgresBinariesNotFoundException e)
            {
                Console.Error.WriteLine($"The sample starts a local cluster from the PostgreSQL server binaries, which are not installed ({e.Message}). Install them (sudo apt-get install -y postgresql) or set RoutingData:ConnectionString.");
                return 1;
            }
        }

        try
        {
            var urls = args.Any(a => a.StartsWith("--urls", StringComparison.Ordinal)) ? args : [.. args, "--urls", "http://127.0.0.1:5080"];
            await using var app = Build(configured is { Length: > 0 } ? configured : cluster!.ConnectionString, urls);
            await EnsureSchemaAsync(app);
            await app.StartAsync();
            Console.WriteLine($"Open {string.Join(", ", app.Urls)} — Ctrl+C stops the app and removes the cluster.");
            await app.WaitForShutdownAsync();
            return 0;
        }
        finally
        {
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }
        }
    }

    /// <summary>The body of <c>POST /api/todos</c>.</summary>
    /// <param name="Title">The todo's title.</param>
    public sealed record NewTodo(string Title);
}
