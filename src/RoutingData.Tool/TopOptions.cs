using System.Globalization;

namespace RoutingData.Tool;

/// <summary>The arguments of <c>routingdata top</c>.</summary>
/// <param name="ConnectionString">The cluster's connection string (every host in <c>Host=</c>).</param>
/// <param name="Interval">How often to refresh.</param>
/// <param name="Json">Print one JSON snapshot and exit.</param>
internal sealed record TopOptions(string ConnectionString, TimeSpan Interval, bool Json)
{
    public const string Usage = """
        usage: routingdata top "<connection string>" [--interval 1s] [--json]
          --interval  how often to refresh: 500ms, 2s, 1m (default 1s)
          --json      print one snapshot as JSON (traffic measured over one interval) and exit
        """;

    /// <summary>Parses the arguments after <c>top</c>; the error says what was wrong, in one line.</summary>
    public static bool TryParse(IReadOnlyList<string> args, out TopOptions? options, out string? error)
    {
        (options, error) = (null, null);
        string? connectionString = null;
        var interval = TimeSpan.FromSeconds(1);
        var json = false;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--json":
                    json = true;
                    break;
                case "--interval" when i + 1 < args.Count:
                    if (!TryParseDuration(args[++i], out interval))
                    {
                        error = $"--interval '{args[i]}' is not a duration like 500ms, 2s or 1m (from 100ms to 1h).";
                        return false;
                    }

                    break;
                case "--interval":
                    error = "--interval needs a value, like 2s.";
                    return false;
                case var flag when flag.StartsWith("--", StringComparison.Ordinal):
                    error = $"unknown option '{flag}'.";
                    return false;
                default:
                    if (connectionString is not null)
                    {
                        error = "give one connection string (quote it: it contains ';').";
                        return false;
                    }

                    connectionString = args[i];
                    break;
            }
        }

        if (string.IsNullOrWhiteSpace(connectionString))
        {
            error = "no connection string given.";
            return false;
        }

        options = new TopOptions(connectionString, interval, json);
        return true;
    }

    private static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : (text, 1.0);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(value * unit);
        return duration >= TimeSpan.FromMilliseconds(100) && duration <= TimeSpan.FromHours(1);
    }
}
