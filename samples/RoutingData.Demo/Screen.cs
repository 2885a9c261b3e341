using System.Globalization;
using System.Text;

namespace RoutingData.Demo;

/// <summary>A compact live console view; redraws in place on a terminal, prints snapshots when redirected.</summary>
internal sealed class Screen
{
    private readonly bool _interactive = !Console.IsOutputRedirected;
    private int _liveLines;
    private TimeSpan? _lastPrinted;

    public void Title(string text)
    {
        _liveLines = 0;
        Console.WriteLine();
        Console.WriteLine(_interactive ? $"\u001b[1m{text}\u001b[0m" : $"== {text}");
    }

    public void Line(string text) => Console.WriteLine(text);

    public void Route(string sql, RouteInfo route)
    {
        var target = route.Role == HostRole.Primary ? "PRIMARY" : "replica";
        var color = route.Role == HostRole.Primary ? "\u001b[33m" : "\u001b[32m";
        var shown = sql.Length > 62 ? sql[..59] + "..." : sql;
        Console.WriteLine(_interactive
            ? $"  {shown,-62} → {color}{target} {route.Host}\u001b[0m  ({route.Reason}: {route.Detail})"
            : $"  {shown,-62} -> {target} {route.Host}  ({route.Reason}: {route.Detail})");
    }

    public void Live(TimeSpan elapsed, TimeSpan duration, IReadOnlyList<HostStatus> hosts, IReadOnlyDictionary<(string Host, HostRole Role, RoutingReason Reason), long> stats, long errors, bool final = false)
    {
        if (!_interactive && !final && _lastPrinted is { } last && elapsed - last < TimeSpan.FromSeconds(2))
        {
            return;
        }

        _lastPrinted = elapsed;
        var text = new StringBuilder();
        var done = Math.Clamp(elapsed / duration, 0, 1);
        var bar = new string('█', (int)(done * 30)).PadRight(30, '·');
        text.AppendLine(CultureInfo.InvariantCulture, $"  [{bar}] {elapsed.TotalSeconds,4:0.0}/{duration.TotalSeconds:0} s   errors: {errors}");
        text.AppendLine("  host                  role      lag (bytes)  rtt      served  reasons");
        foreach (var host in hosts)
        {
            var served = stats.Where(s => s.Key.Host == host.Host).Sum(s => s.Value);
            var reasons = string.Join(", ", stats.Where(s => s.Key.Host == host.Host).OrderByDescending(s => s.Value).Select(s => $"{s.Key.Reason} {s.Value}"));
            var role = host.Role?.ToString() ?? host.Health.ToString();
            text.AppendLine(CultureInfo.InvariantCulture, $"  {host.Host,-21} {role,-9} {host.LagBytes,11}  {host.RoundTripTime.TotalMilliseconds,5:0.0}ms {served,7}  {reasons}");
        }

        var output = text.ToString();
        if (_interactive && _liveLines > 0)
        {
            Console.Write($"\u001b[{_liveLines}A\u001b[J");
        }

        Console.Write(output);
        _liveLines = _interactive ? output.Count(c => c == '\n') : 0;
    }
}
