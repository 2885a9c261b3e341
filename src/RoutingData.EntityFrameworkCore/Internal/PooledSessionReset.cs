using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace RoutingData.EntityFrameworkCore.Internal;

/// <summary>
/// A pooled context keeps its connection between leases: before the next lease, the connection forgets its own
/// consistency session, so nothing of one request's position reaches the next.
/// </summary>
internal sealed class PooledSessionReset(IRelationalConnection connection) : IResettableService
{
    public void ResetState()
    {
        if (connection.DbConnection is RoutedConnection routed)
        {
            routed.ResetOwnSession();
        }
    }

    public Task ResetStateAsync(CancellationToken cancellationToken = default)
    {
        ResetState();
        return Task.CompletedTask;
    }
}
