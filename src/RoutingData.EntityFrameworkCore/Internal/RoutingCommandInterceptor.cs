using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace RoutingData.EntityFrameworkCore.Internal;

/// <summary>
/// Gives each command EF Core creates its read preference: what EF Core itself generates to write or to manage the
/// schema (SaveChanges, ExecuteUpdate/Delete, migrations, the provider's own checks) reads from the primary; a query
/// takes the <c>DbContext</c> class's attribute unless the request's endpoint set one (that one is ambient, and beats the
/// context's). Query tags and entity attributes arrive as SQL hints and beat both.
/// </summary>
internal sealed class RoutingCommandInterceptor : DbCommandInterceptor
{
    public static readonly RoutingCommandInterceptor Instance = new();

    private RoutingCommandInterceptor()
    {
    }

    public override DbCommand CommandCreated(CommandEndEventData eventData, DbCommand result)
    {
        if (result is RoutedCommand routed)
        {
            routed.ReadPreference = eventData.CommandSource switch
            {
                CommandSource.LinqQuery or CommandSource.FromSqlQuery or CommandSource.ExecuteSqlRaw =>
                    ConsistencyScope.Current?.ReadPreference is not null ? null : ReadPreferenceAttributes.Of(eventData.Context?.GetType()),

                // Migrations' history reads, EnsureCreated's checks, SaveChanges: a lagging replica must not answer them.
                _ => ReadPreference.Primary,
            };
        }

        return result;
    }
}
