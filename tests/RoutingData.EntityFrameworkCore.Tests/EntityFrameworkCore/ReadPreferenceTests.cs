using Microsoft.EntityFrameworkCore;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.EntityFrameworkCore.Tests.EfTestHelpers;

namespace RoutingData.EntityFrameworkCore.Tests.EntityFrameworkCore;

/// <summary>
/// The documented order: query extension &gt; entity attribute &gt; endpoint attribute &gt; DbContext attribute &gt;
/// data source default. The endpoint's preference is the ambient one the ASP.NET Core middleware sets (here set directly).
/// </summary>
[Collection(EfClusterGroup.Name)]
public sealed class ReadPreferenceTests(EfClusterFixture fixture) : ClusterTestBase
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private PrimaryShopContext NewPrimaryContext() =>
        new(new DbContextOptionsBuilder<PrimaryShopContext>().UseReplicatedDb(fixture.DataSource).Options);

    [Fact]
    public async Task Query_extensions_beat_everything()
    {
        UseShared(fixture.Cluster);
        await using var db = NewContext(fixture.DataSource);

        _ = await db.Todos.ReadFromPrimary().CountAsync(Ct);
        Assert.Equal((HostRole.Primary, RoutingReason.Hint), (LastRoute(db).Role, LastRoute(db).Reason));

        // The entity says primary; the query says replica: the query wins.
        // Rejoined when the primary read above saw a position the replica was still replaying (other tests write).
        _ = await db.Audit.WithReadPreference(ReadPreference.Replica).CountAsync(Ct);
        Assert.Equal(HostRole.Replica, LastRoute(db).Role);
        Assert.Contains(LastRoute(db).Reason, new[] { RoutingReason.Hint, RoutingReason.Rejoined });

        // The context says primary; the query says replica-preferred.
        await using var primary = NewPrimaryContext();
        _ = await primary.Todos.WithReadPreference(ReadPreference.ReplicaPreferred).ToListAsync(Ct);
        Assert.Equal(HostRole.Replica, LastRoute(primary).Role);
    }

    [Fact]
    public async Task An_entity_marked_ReadFromPrimary_is_read_from_the_primary_in_any_query_that_touches_it()
    {
        UseShared(fixture.Cluster);
        await using var db = NewContext(fixture.DataSource);

        _ = await db.Audit.CountAsync(Ct);
        Assert.Equal((HostRole.Primary, RoutingReason.Hint), (LastRoute(db).Role, LastRoute(db).Reason));

        _ = await db.Todos.Include(t => t.Audit).ToListAsync(Ct);
        Assert.Equal(HostRole.Primary, LastRoute(db).Role);

        _ = await db.Todos.Include("Audit").ToListAsync(Ct);
        Assert.Equal(HostRole.Primary, LastRoute(db).Role);

        _ = await db.Todos.Where(t => t.Audit.Any(a => a.What == "x")).ToListAsync(Ct);
        Assert.Equal(HostRole.Primary, LastRoute(db).Role);

        _ = await db.Todos.Select(t => new { t.Title, Count = t.Audit.Count }).ToListAsync(Ct);
        Assert.Equal(HostRole.Primary, LastRoute(db).Role);

        // A query that does not touch it stays on a replica.
        _ = await db.Todos.Include(t => t.Steps).ToListAsync(Ct);
        Assert.Equal(HostRole.Replica, LastRoute(db).Role);
    }

    [Fact]
    public async Task A_DbContext_attribute_applies_to_its_queries_below_entities_and_endpoints()
    {
        UseShared(fixture.Cluster);
        await using var db = NewPrimaryContext();

        _ = await db.Todos.CountAsync(Ct);
        Assert.Equal((HostRole.Primary, RoutingReason.ReadPreference), (LastRoute(db).Role, LastRoute(db).Reason));

        // The entity (replica only) beats the context (primary).
        _ = await db.Archive.CountAsync(Ct);
        Assert.Equal(HostRole.Replica, LastRoute(db).Role);

        // The endpoint (ambient) beats the context.
        using (ConsistencyScope.Begin(new ConsistencySession(), null, ReadPreference.Replica))
        {
            _ = await db.Todos.CountAsync(Ct);
            Assert.Equal(HostRole.Replica, LastRoute(db).Role);

            // …and the entity beats the endpoint.
            _ = await db.Audit.CountAsync(Ct);
            Assert.Equal(HostRole.Primary, LastRoute(db).Role);
        }
    }

    [Fact]
    public async Task An_endpoint_preference_beats_the_data_source_default()
    {
        UseShared(fixture.Cluster);
        await using var db = NewContext(fixture.DataSource);
        _ = await db.Todos.CountAsync(Ct);
        Assert.Equal(HostRole.Replica, LastRoute(db).Role);
        using (ConsistencyScope.Begin(new ConsistencySession(), null, ReadPreference.Primary))
        {
            _ = await db.Todos.CountAsync(Ct);
            Assert.Equal((HostRole.Primary, RoutingReason.ReadPreference), (LastRoute(db).Role, LastRoute(db).Reason));

            // Raw ADO.NET commands of the same request follow it too.
            await using var connection = fixture.DataSource.CreateConnection();
            await connection.OpenAsync(Ct);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            _ = await command.ExecuteScalarAsync(Ct);
            Assert.Equal(HostRole.Primary, command.LastRoute!.Value.Role);
        }
    }
}
