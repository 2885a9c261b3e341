using Microsoft.EntityFrameworkCore;

namespace RoutingData.EntityFrameworkCore;

/// <summary>Per-query read preferences for queries of a context configured with <c>UseReplicatedDb</c>.</summary>
/// <remarks>
/// The preference travels as a query tag (a SQL comment, <c>-- routing:primary</c>), which the router reads as a hint:
/// it beats an entity's attribute, the endpoint's, the context's and the data source's default. A write still goes to the
/// primary, and inside a transaction every command stays on the transaction's host.
/// </remarks>
public static class ReplicatedDbQueryableExtensions
{
    /// <summary>Reads this query from the primary.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="source">The query.</param>
    /// <returns>The tagged query.</returns>
    public static IQueryable<T> ReadFromPrimary<T>(this IQueryable<T> source) => source.WithReadPreference(ReadPreference.Primary);

    /// <summary>Reads this query where <paramref name="readPreference"/> says.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="source">The query.</param>
    /// <param name="readPreference">Where the query may be served.</param>
    /// <returns>The tagged query.</returns>
    public static IQueryable<T> WithReadPreference<T>(this IQueryable<T> source, ReadPreference readPreference)
    {
        ArgumentNullException.ThrowIfNull(source);
        return source.TagWith(Internal.RoutingTags.For(readPreference));
    }
}
