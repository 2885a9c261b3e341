using Microsoft.EntityFrameworkCore;
using Xunit;

namespace RoutingData.EntityFrameworkCore.Tests;

internal static class EfTestHelpers
{
    /// <summary>A data source with fast probes, ready (first probe done).</summary>
    public static async Task<ReplicatedDataSource> CreateDataSourceAsync(string connectionString, Action<ReplicatedDataSourceBuilder>? configure = null)
    {
        var builder = new ReplicatedDataSourceBuilder(connectionString);
        builder.Options.TopologyProbeInterval = TimeSpan.FromMilliseconds(200);
        builder.Options.TopologyProbeTimeout = TimeSpan.FromSeconds(2);
        configure?.Invoke(builder);
        var dataSource = builder.Build();
        await dataSource.WaitForTopologyAsync(TestContext.Current.CancellationToken);
        return dataSource;
    }

    /// <summary>Where the context's last command ran, and why.</summary>
    public static RouteInfo LastRoute(DbContext db) =>
        ((RoutedConnection)db.Database.GetDbConnection()).LastRoute ?? throw new InvalidOperationException("No command has run yet.");

    public static ShopContext NewContext(ReplicatedDataSource dataSource) =>
        new(new DbContextOptionsBuilder<ShopContext>().UseReplicatedDb(dataSource).Options);

    public static string Unique(string what) => $"{what}-{Guid.NewGuid():N}";

    /// <summary>Polls until <paramref name="condition"/> holds; fails after 30 seconds, naming <paramref name="what"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
