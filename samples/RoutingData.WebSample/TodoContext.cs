using Microsoft.EntityFrameworkCore;

namespace RoutingData.WebSample;

public sealed class TodoItem
{
    public int Id { get; set; }

    public string Title { get; set; } = string.Empty;

    public bool Done { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>Who changed what: always read from the primary, in any query that touches it.</summary>
[ReadFromPrimary]
public sealed class TodoEvent
{
    public int Id { get; set; }

    public int TodoId { get; set; }

    public string What { get; set; } = string.Empty;

    public DateTimeOffset At { get; set; }
}

public sealed class TodoContext(DbContextOptions<TodoContext> options) : DbContext(options)
{
    public DbSet<TodoItem> Todos => Set<TodoItem>();

    public DbSet<TodoEvent> Events => Set<TodoEvent>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<TodoItem>().ToTable("todo_items");
        modelBuilder.Entity<TodoEvent>().ToTable("todo_events");
    }

    /// <summary>Where this context's last command ran, for the page.</summary>
    public ServedBy ServedBy() =>
        Database.GetDbConnection() is RoutedConnection { LastRoute: { } route }
            ? new ServedBy(route.Host, route.Role.ToString(), route.Reason.ToString())
            : new ServedBy("-", "-", "-");
}

public sealed record ServedBy(string Host, string Role, string Reason);
