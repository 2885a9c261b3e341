using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Update;
using Microsoft.Extensions.DependencyInjection;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;
using RoutingData.EntityFrameworkCore.Internal;

namespace RoutingData.EntityFrameworkCore;

/// <summary>Configures a <see cref="DbContext"/> to run on a <see cref="ReplicatedDataSource"/>.</summary>
public static class ReplicatedDbContextOptionsBuilderExtensions
{
    /// <summary>
    /// Uses the Npgsql provider over <paramref name="dataSource"/>: LINQ, compiled, split and raw-SQL reads go to a replica
    /// that has caught up with the context's consistency session; <c>SaveChanges</c>, <c>ExecuteUpdate</c>/<c>ExecuteDelete</c>,
    /// writing SQL, transactions, migrations and <c>EnsureCreated</c> go to the primary. Honours <see cref="ReadFromPrimaryAttribute"/>
    /// and <see cref="ReadPreferenceAttribute"/> on entities and on the context class, and the query extensions of
    /// <see cref="ReplicatedDbQueryableExtensions"/>.
    /// </summary>
    /// <param name="optionsBuilder">The options builder.</param>
    /// <param name="dataSource">The cluster's data source (a singleton).</param>
    /// <param name="npgsqlOptionsAction">Further Npgsql provider options (an execution strategy, migrations assembly, …).</param>
    /// <returns>The options builder.</returns>
    public static DbContextOptionsBuilder UseReplicatedDb(
        this DbContextOptionsBuilder optionsBuilder,
        ReplicatedDataSource dataSource,
        Action<NpgsqlDbContextOptionsBuilder>? npgsqlOptionsAction = null)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        ArgumentNullException.ThrowIfNull(dataSource);

        // EF Core's connection is a RoutedConnection: every command EF creates is a RoutedCommand, routed by the ADO.NET layer.
        optionsBuilder.UseNpgsql(dataSource, npgsqlOptionsAction);
        ((IDbContextOptionsBuilderInfrastructure)optionsBuilder).AddOrUpdateExtension(
            optionsBuilder.Options.FindExtension<ReplicatedDbOptionsExtension>() ?? new ReplicatedDbOptionsExtension());
#pragma warning disable EF1001 // The provider's batch is extended to read row counts through RoutingData's reader.
        optionsBuilder.ReplaceService<IModificationCommandBatchFactory, RoutedModificationCommandBatchFactory>();
#pragma warning restore EF1001
        if (!HasInterceptors(optionsBuilder))
        {
            optionsBuilder.AddInterceptors(RoutingCommandInterceptor.Instance, EntityReadPreferenceInterceptor.Instance);
        }

        return optionsBuilder;
    }

    /// <summary>
    /// Uses the <see cref="ReplicatedDataSource"/> registered by <c>AddReplicatedDb</c> (the default, unkeyed one); see
    /// <see cref="UseReplicatedDb(DbContextOptionsBuilder, ReplicatedDataSource, Action{NpgsqlDbContextOptionsBuilder}?)"/>.
    /// </summary>
    /// <param name="optionsBuilder">The options builder.</param>
    /// <param name="serviceProvider">The application's service provider (as <c>AddDbContext</c> passes it).</param>
    /// <param name="npgsqlOptionsAction">Further Npgsql provider options.</param>
    /// <returns>The options builder.</returns>
    /// <exception cref="InvalidOperationException">No <see cref="ReplicatedDataSource"/> is registered.</exception>
    public static DbContextOptionsBuilder UseReplicatedDb(
        this DbContextOptionsBuilder optionsBuilder,
        IServiceProvider serviceProvider,
        Action<NpgsqlDbContextOptionsBuilder>? npgsqlOptionsAction = null)
    {
        ArgumentNullException.ThrowIfNull(serviceProvider);
        return optionsBuilder.UseReplicatedDb(serviceProvider.GetRequiredService<ReplicatedDataSource>(), npgsqlOptionsAction);
    }

    /// <summary>Uses the Npgsql provider over <paramref name="dataSource"/>, routing each command; see the non-generic overload.</summary>
    /// <typeparam name="TContext">The context type.</typeparam>
    /// <param name="optionsBuilder">The options builder.</param>
    /// <param name="dataSource">The cluster's data source (a singleton).</param>
    /// <param name="npgsqlOptionsAction">Further Npgsql provider options.</param>
    /// <returns>The options builder.</returns>
    public static DbContextOptionsBuilder<TContext> UseReplicatedDb<TContext>(
        this DbContextOptionsBuilder<TContext> optionsBuilder,
        ReplicatedDataSource dataSource,
        Action<NpgsqlDbContextOptionsBuilder>? npgsqlOptionsAction = null)
        where TContext : DbContext =>
        (DbContextOptionsBuilder<TContext>)((DbContextOptionsBuilder)optionsBuilder).UseReplicatedDb(dataSource, npgsqlOptionsAction);

    /// <summary>Uses the <see cref="ReplicatedDataSource"/> registered by <c>AddReplicatedDb</c>; see the non-generic overload.</summary>
    /// <typeparam name="TContext">The context type.</typeparam>
    /// <param name="optionsBuilder">The options builder.</param>
    /// <param name="serviceProvider">The application's service provider.</param>
    /// <param name="npgsqlOptionsAction">Further Npgsql provider options.</param>
    /// <returns>The options builder.</returns>
    public static DbContextOptionsBuilder<TContext> UseReplicatedDb<TContext>(
        this DbContextOptionsBuilder<TContext> optionsBuilder,
        IServiceProvider serviceProvider,
        Action<NpgsqlDbContextOptionsBuilder>? npgsqlOptionsAction = null)
        where TContext : DbContext =>
        (DbContextOptionsBuilder<TContext>)((DbContextOptionsBuilder)optionsBuilder).UseReplicatedDb(serviceProvider, npgsqlOptionsAction);

    private static bool HasInterceptors(DbContextOptionsBuilder optionsBuilder) =>
        optionsBuilder.Options.FindExtension<Microsoft.EntityFrameworkCore.Infrastructure.CoreOptionsExtension>()?.Interceptors?.Contains(RoutingCommandInterceptor.Instance) == true;
}
