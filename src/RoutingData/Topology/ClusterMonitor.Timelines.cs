using Microsoft.Extensions.Logging;
using Npgsql;

namespace RoutingData.Topology;

/// <summary>The primary's timeline history (fork points), read once per host and timeline.</summary>
internal sealed partial class ClusterMonitor
{
    private readonly Dictionary<(int Host, int Timeline), TimelineHistory> _timelineHistories = [];

    /// <summary>
    /// The history of the primary this round's states choose, read from its history file the first time this host is
    /// seen as primary on this timeline; while no primary answers, the last one's if it is still the newest timeline.
    /// Null when it could not be read this time (tried again next round). Runs on the monitor's loop.
    /// </summary>
    private async Task<TimelineHistory?> LoadTimelineHistoryAsync(CancellationToken cancellationToken)
    {
        var primary = ClusterSnapshot.ChoosePrimary(_states, _newestPrimaryTimeline);
        if (primary is null)
        {
            return _snapshot.Timelines;
        }

        var key = (primary.Host.Index, primary.Timeline);
        if (_timelineHistories.TryGetValue(key, out var known))
        {
            return known;
        }

        if (_probeConnections[primary.Host.Index] is not { } connection)
        {
            return null;
        }

        TimelineHistory history;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.TopologyProbeTimeout);
        try
        {
            history = await TimelineHistory.ReadAsync(connection, primary.Timeline, timeout.Token).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            history = TimelineHistory.Unreadable(primary.Timeline, $"reading {TimelineHistory.FileName(primary.Timeline)} needs a superuser or a member of pg_read_server_files ({e.MessageText})");
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is NpgsqlException or OperationCanceledException or TimeoutException or IOException or InvalidOperationException)
        {
            await DropProbeConnectionAsync(primary.Host.Index).ConfigureAwait(false);
            _logger.TimelineHistoryFailed(primary.Host.Endpoint.Name, primary.Timeline, e.Message);
            return null;
        }

        _timelineHistories[key] = history;
        if (history.Problem is { } problem)
        {
            _logger.TimelineHistoryUnreadable(primary.Host.Endpoint.Name, primary.Timeline, problem);
        }

        return history;
    }
}
