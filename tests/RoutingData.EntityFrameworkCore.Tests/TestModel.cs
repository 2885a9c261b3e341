using Microsoft.EntityFrameworkCore;

namespace RoutingData.EntityFrameworkCore.Tests;

public class Todo
{
    public int Id { get; set; }

    public string Title { get; set; } = string.Empty;

    public bool Done { get; set; }

    public List<AuditEntry> Audit { get; set; } = [];

    public List<TodoStep> Steps { get; set; } = [];
}

public class TodoStep
{
    public int Id { get; set; }

    public int TodoId { get; set; }

    public string Text { get; set; } = string.Empty;
}

/// <summary>Read from the primary in every query that touches it.</summary>
[ReadFromPrimary]
public class AuditEntry
{
    public int Id { get; set; }

    public int TodoId { get; set; }

    public string What { get; set; } = string.Empty;
}

/// <summary>Read from a replica only, even in a context that reads from the primary.</summary>
[ReadPreference(ReadPreference.Replica)]
public class Archived
{
    public int Id { get; set; }

    public string Title { get; set; } = string.Empty;
}

public class ShopContext : DbContext
{
    public ShopContext(DbContextOptions<ShopContext> options)
        : base(options)
    {
    }

    protected ShopContext(DbContextOptions options)
        : base(options)
    {
    }

    public DbSet<Todo> Todos => Set<Todo>();

    public DbSet<AuditEntry> Audit => Set<AuditEntry>();

    public DbSet<Archived> Archive => Set<Archived>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Todo>().ToTable("todos");
        modelBuilder.Entity<AuditEntry>().ToTable("audit");
        modelBuilder.Entity<Archived>().ToTable("archive");
        modelBuilder.Entity<TodoStep>().ToTable("steps");
    }
}

/// <summary>The same model; its queries read from the primary unless something narrower says otherwise.</summary>
[ReadFromPrimary]
public sealed class PrimaryShopContext(DbContextOptions<PrimaryShopContext> options) : ShopContext(options);
