using Npgsql;

namespace RoutingData.Topology;

/// <summary>
/// Everything about one host that lives as long as the data source: its pools and the counters the hot path
/// updates. The monitor's view of the host (role, lag, health) lives in immutable <see cref="HostState"/>s instead.
/// </summary>
internal sealed class HostRuntime(int index, HostEndpoint endpoint, NpgsqlDataSource dataSource, NpgsqlDataSource probeDataSource, int weight) : IAsyncDisposable
{
    private int _outstanding;

    public int Index { get; } = index;

    public HostEndpoint Endpoint { get; } = endpoint;

    /// <summary>The pooled data source commands borrow connections from.</summary>
    public NpgsqlDataSource DataSource { get; } = dataSource;

    /// <summary>An unpooled data source with a short connect timeout for the monitor's probes.</summary>
    public NpgsqlDataSource ProbeDataSource { get; } = probeDataSource;

    public int Weight { get; } = weight;

    /// <summary>Commands in flight on this host (for least-outstanding balancing).</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    public void BeginCommand() => Interlocked.Increment(ref _outstanding);

    public void EndCommand() => Interlocked.Decrement(ref _outstanding);

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync().ConfigureAwait(false);
        await ProbeDataSource.DisposeAsync().ConfigureAwait(false);
    }
}
