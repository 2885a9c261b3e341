using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace RoutingData.Tool.LiveView;

/// <summary>Renders a cluster snapshot as a table: role, timeline, health, replay lag as a bar, round-trip time, reads, traffic.</summary>
internal static class ClusterView
{
    private const int BarWidth = 10;

    /// <summary>Builds the table of one snapshot.</summary>
    /// <param name="title">The table's title (markup-escaped here).</param>
    /// <param name="rows">The hosts.</param>
    /// <param name="trafficHeading">What the traffic column counts, e.g. <c>commands/s</c>.</param>
    /// <param name="caption">A line under the table (markup-escaped here), after the last error of each host that is down; null for none.</param>
    public static Table Render(string title, IReadOnlyList<HostRow> rows, string trafficHeading, string? caption = null)
    {
        var table = new Table()
            .Border(TableBorder.Rounded)
            .Title(Markup.Escape(title))
            .AddColumn("host")
            .AddColumn("role")
            .AddColumn(new TableColumn("tl").RightAligned())
            .AddColumn("health")
            .AddColumn("replay lag")
            .AddColumn(new TableColumn("rtt").RightAligned())
            .AddColumn("reads")
            .AddColumn(new TableColumn(Markup.Escape(trafficHeading)).RightAligned())
            .AddColumn("share");
        var notes = rows.Where(r => r.Status.Health == HostHealth.Unhealthy && r.Status.LastError is not null)
            .Select(r => $"[red]{Markup.Escape(r.Status.Host)}[/]: [grey]{Markup.Escape(Shorten(r.Status.LastError!, 100))}[/]")
            .Append(caption is null ? null : Markup.Escape(caption))
            .OfType<string>()
            .ToList();
        if (notes.Count > 0)
        {
            table.Caption(string.Join('\n', notes));
        }

        var scale = LagScale(rows);
        foreach (var row in rows)
        {
            var s = row.Status;
            table.AddRow(
                new Markup(Markup.Escape(s.Host)),
                new Markup(Role(row)),
                new Markup(s.Role is null ? "[grey]-[/]" : s.Timeline.ToString(CultureInfo.InvariantCulture)),
                new Markup(Health(s)),
                new Markup(Lag(s, scale)),
                new Markup(s.Health == HostHealth.Healthy ? Invariant($"{s.RoundTripTime.TotalMilliseconds:0.0} ms") : "[grey]-[/]"),
                new Markup(s.TakesReads ? "[green]yes[/]" : "[grey]no[/]"),
                new Markup(row.Traffic is { } rate ? Invariant($"{rate:0.0}") : "[grey]-[/]"),
                new Markup(row.Share is { } share ? Bar(share, "blue") + Invariant($" {share * 100,3:0}%") : "[grey]-[/]"));
        }

        return table;
    }

    /// <summary>The lag a full bar stands for: a second, or the largest lag shown if that is longer.</summary>
    private static TimeSpan LagScale(IReadOnlyList<HostRow> rows) =>
        rows.Select(r => r.Status.ReplayDelay ?? TimeSpan.Zero).Append(TimeSpan.FromSeconds(1)).Max();

    private static string Role(HostRow row) => row.Status.Role switch
    {
        HostRole.Primary when row.Fenced => "[red]primary, fenced[/]",
        HostRole.Primary => "[yellow bold]primary[/]",
        HostRole.Replica => "[green]replica[/]",
        _ => "[grey]unknown[/]",
    };

    private static string Health(HostStatus s) => s.Health switch
    {
        HostHealth.Healthy => "[green]healthy[/]",
        HostHealth.Unhealthy => "[red]down[/]",
        _ => "[grey]not probed yet[/]",
    };

    private static string Lag(HostStatus s, TimeSpan scale)
    {
        if (s.Role != HostRole.Replica || s.Health != HostHealth.Healthy)
        {
            return "[grey]-[/]";
        }

        var delay = s.ReplayDelay ?? TimeSpan.Zero;
        var color = delay < TimeSpan.FromMilliseconds(100) ? "green" : delay < TimeSpan.FromSeconds(1) ? "yellow" : "red";
        var time = s.ReplayDelay is { } known ? Invariant($"{known.TotalMilliseconds:0} ms") : "? ms";
        return Bar(delay / scale, color) + " " + Bytes(s.LagBytes) + " · " + time;
    }

    private static string Bar(double fraction, string color)
    {
        var filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * BarWidth);
        if (filled == 0 && fraction > 0)
        {
            filled = 1; // Something, however little, is not nothing.
        }

        return $"[{color}]{new string('█', filled)}[/][grey]{new string('░', BarWidth - filled)}[/]";
    }

    private static string Bytes(long bytes) => bytes switch
    {
        < 1024 => Invariant($"{bytes} B"),
        < 1024 * 1024 => Invariant($"{bytes / 1024.0:0.0} kB"),
        _ => Invariant($"{bytes / (1024.0 * 1024):0.0} MB"),
    };

    private static string Shorten(string text, int length)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= length ? line : line[..(length - 1)] + "…";
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
