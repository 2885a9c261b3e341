using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace RoutingData.Topology;

/// <summary>
/// A primary's timeline history: for each timeline its own descends from, the LSN where the history left that timeline
/// (the switch point a promotion writes to <c>pg_wal/XXXXXXXX.history</c>). A position on an ancestor timeline at or
/// before its switch point is on this timeline too; one past it is not. Immutable.
/// </summary>
internal sealed class TimelineHistory
{
    private readonly (int Parent, ulong SwitchPoint)[] _forks;

    private TimelineHistory(int timeline, (int Parent, ulong SwitchPoint)[] forks, string? problem)
    {
        Timeline = timeline;
        _forks = forks;
        Problem = problem;
    }

    /// <summary>The timeline whose history this is.</summary>
    public int Timeline { get; }

    /// <summary>Why the switch points are not known (the history file could not be read); null when they are.</summary>
    public string? Problem { get; }

    /// <summary>The LSN where this history left <paramref name="ancestor"/>; null when unknown or not an ancestor.</summary>
    public ulong? ForkPoint(int ancestor)
    {
        foreach (var (parent, switchPoint) in _forks)
        {
            if (parent == ancestor)
            {
                return switchPoint;
            }
        }

        return null;
    }

    /// <summary>Why <see cref="ForkPoint"/> has no answer for <paramref name="ancestor"/>.</summary>
    public string WhyUnknown(int ancestor) =>
        Problem ?? string.Create(CultureInfo.InvariantCulture, $"timeline {ancestor} is not in the history of timeline {Timeline} (it forked off elsewhere)");

    /// <summary>The history of a timeline that descends from nothing (timeline 1, or a primary not yet on a later one).</summary>
    public static TimelineHistory Root(int timeline) => new(timeline, [], null);

    /// <summary>A history whose switch points are not known, and why.</summary>
    public static TimelineHistory Unreadable(int timeline, string problem) => new(timeline, [], problem);

    /// <summary>The file name of <paramref name="timeline"/>'s history, relative to the data directory.</summary>
    public static string FileName(int timeline) => string.Create(CultureInfo.InvariantCulture, $"pg_wal/{timeline:X8}.history");

    /// <summary>
    /// Parses a history file: one <c>parentTLI&lt;TAB&gt;switchpoint&lt;TAB&gt;reason</c> line per ancestor, blank lines and
    /// <c>#</c> comments skipped. A file that does not parse gives an <see cref="Unreadable"/> history.
    /// </summary>
    public static TimelineHistory Parse(int timeline, string text)
    {
        var forks = new List<(int, ulong)>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.AsSpan().Trim();
            if (line.IsEmpty || line[0] == '#')
            {
                continue;
            }

            var tab = line.IndexOfAny('\t', ' ');
            var rest = tab < 0 ? ReadOnlySpan<char>.Empty : line[(tab + 1)..].TrimStart();
            var end = rest.IndexOfAny('\t', ' ');
            var switchPoint = end < 0 ? rest : rest[..end];
            if (tab < 0
                || !int.TryParse(line[..tab], NumberStyles.None, CultureInfo.InvariantCulture, out var parent)
                || parent <= 0
                || parent >= timeline
                || !NpgsqlLogSequenceNumber.TryParse(switchPoint, out var lsn))
            {
                return Unreadable(timeline, string.Create(CultureInfo.InvariantCulture, $"line {number} of {FileName(timeline)} is not 'parent timeline, switch point, reason'"));
            }

            forks.Add((parent, (ulong)lsn));
        }

        return new TimelineHistory(timeline, [.. forks], null);
    }

    /// <summary>
    /// Reads <paramref name="timeline"/>'s history file over <paramref name="connection"/> (<c>pg_read_file</c>: a superuser,
    /// or a member of <c>pg_read_server_files</c>). A missing file gives an <see cref="Unreadable"/> history; a refused
    /// read throws the server's 42501.
    /// </summary>
    public static async Task<TimelineHistory> ReadAsync(NpgsqlConnection connection, int timeline, CancellationToken cancellationToken)
    {
        if (timeline <= 1)
        {
            return Root(timeline);
        }

        using var command = new NpgsqlCommand("SELECT pg_catalog.pg_read_file($1, 0, 1048576, true)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = FileName(timeline) });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string text
            ? Parse(timeline, text)
            : Unreadable(timeline, $"{FileName(timeline)} does not exist on the primary");
    }
}
