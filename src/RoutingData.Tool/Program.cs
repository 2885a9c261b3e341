using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using RoutingData.Tool.LiveView;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace RoutingData.Tool;

/// <summary><c>routingdata top "&lt;connection string&gt;" [--interval 1s] [--json]</c>: the cluster as RoutingData sees it.</summary>
internal static partial class Program
{
    /// <summary>Exit code of a finished run.</summary>
    public const int Ok = 0;

    /// <summary>Exit code when no host answered, or the view failed.</summary>
    public const int Failed = 1;

    /// <summary>Exit code of bad arguments or a connection string that does not parse.</summary>
    public const int Usage = 2;

    private static async Task<int> Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };

        var console = AnsiConsole.Console;
        if (Console.IsOutputRedirected)
        {
            console.Profile.Width = 120; // Not a terminal: wide enough for the table, rather than the default 80.
        }

        return await RunAsync(args, console, Console.Out, Console.Error, stop.Token);
    }

    /// <summary>Runs the command in-process: the view goes to <paramref name="console"/>, JSON to <paramref name="output"/>, errors (one line each) to <paramref name="error"/>.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, IAnsiConsole console, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (args.Count == 0 || args[0] is "-h" or "--help" or "help")
        {
            await output.WriteLineAsync(TopOptions.Usage);
            return args.Count == 0 ? Usage : Ok;
        }

        if (args[0] != "top")
        {
            await error.WriteLineAsync($"routingdata: unknown command '{args[0]}'; try: routingdata top \"Host=db1,db2;Username=app\"");
            return Usage;
        }

        if (!TopOptions.TryParse(args.Skip(1).ToList(), out var options, out var problem))
        {
            await error.WriteLineAsync($"routingdata top: {problem} {TopOptions.Usage.Split('\n')[0]}");
            return Usage;
        }

        try
        {
            return await TopAsync(options!, console, output, error, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Ok;
        }
#pragma warning disable CA1031 // The tool's last word: one line, never a stack trace (nor the password).
        catch (Exception e)
#pragma warning restore CA1031
        {
            await error.WriteLineAsync($"routingdata top: {Scrub(e.Message, options!.ConnectionString)}");
            return Failed;
        }
    }

    private static async Task<int> TopAsync(TopOptions options, IAnsiConsole console, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string redacted;
        ReplicatedDataSource dataSource;
        try
        {
            var parsed = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            parsed.Remove("Password");
            redacted = parsed.ConnectionString;

            // The tool's own sessions carry its name, so its traffic measure leaves them out.
            var own = new NpgsqlConnectionStringBuilder(options.ConnectionString) { ApplicationName = ServerTraffic.ApplicationName };
            var builder = new ReplicatedDataSourceBuilder(own.ConnectionString);
            builder.Options.TopologyProbeInterval = options.Interval;
            builder.Options.TopologyProbeTimeout = TimeSpan.FromSeconds(2);
            builder.Options.MaxProbeBackoff = options.Interval * 4;
            dataSource = builder.Build();
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or NotSupportedException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            await error.WriteLineAsync($"routingdata top: the connection string is not valid: {Scrub(e.Message, options.ConnectionString)}");
            return Usage;
        }

        await using var _ = dataSource;
        await dataSource.WaitForTopologyAsync(cancellationToken);
        var hosts = dataSource.GetHosts();
        if (hosts.All(h => h.Health != HostHealth.Healthy))
        {
            var why = string.Join("; ", hosts.Select(h => $"{h.Host}: {h.LastError ?? "no answer"}"));
            await error.WriteLineAsync($"routingdata top: no host answered ({Scrub(why, options.ConnectionString)})");
            return Failed;
        }

        var time = TimeProvider.System;
        await using var traffic = new ServerTraffic(options.ConnectionString, hosts.Select(h => h.Host));
        var window = new TrafficWindow(TimeSpan.FromSeconds(Math.Max(5, options.Interval.TotalSeconds * 3)), time);
        window.Add(await traffic.SampleAsync(cancellationToken));

        if (options.Json)
        {
            await Task.Delay(options.Interval, time, cancellationToken);
            window.Add(await traffic.SampleAsync(cancellationToken));
            await dataSource.RefreshTopologyAsync(cancellationToken);
            var rows = HostRow.From(dataSource.GetHosts(), PerRefresh(window, options.Interval));
            var snapshot = JsonSnapshot.From(redacted, time.GetUtcNow(), $"client sessions (other than this tool's) that ran a query in {options.Interval.TotalSeconds} s, from pg_stat_activity", rows);
            await output.WriteLineAsync(JsonSerializer.Serialize(snapshot, ToolJsonContext.Default.JsonSnapshot));
            return Ok;
        }

        async ValueTask<IRenderable> RenderAsync(CancellationToken token)
        {
            window.Add(await traffic.SampleAsync(token));
            var rows = HostRow.From(dataSource.GetHosts(), PerRefresh(window, options.Interval));
            return ClusterView.Render(
                $"routingdata top · {time.GetLocalNow():HH:mm:ss}",
                rows,
                ServerTraffic.Heading,
                $"{redacted}\nbusy: client sessions that ran a query, per refresh (pg_stat_activity, not counting this tool), and their share over the last {window.Length.TotalSeconds:0} s · Ctrl+C to quit");
        }

        await LiveRunner.RunAsync(console, RenderAsync, options.Interval, Task.Delay(Timeout.Infinite, cancellationToken), printEvery: 5, cancellationToken);
        return Ok;
    }

    /// <summary>Each host's busy sessions per refresh, averaged over the window.</summary>
    private static Dictionary<string, double> PerRefresh(TrafficWindow window, TimeSpan interval) =>
        window.Rates().ToDictionary(pair => pair.Key, pair => pair.Value * interval.TotalSeconds, StringComparer.Ordinal);

    /// <summary>Removes the password from a message, wherever it may have been echoed.</summary>
    internal static string Scrub(string message, string connectionString)
    {
        foreach (Match match in PasswordPattern().Matches(connectionString))
        {
            var secret = match.Groups["secret"].Value.Trim().Trim('\'', '"');
            if (secret.Length > 0)
            {
                message = message.Replace(secret, "***", StringComparison.Ordinal);
            }
        }

        return message.ReplaceLineEndings(" ");
    }

    [GeneratedRegex(@"(?:password|pwd)\s*=\s*(?<secret>'[^']*'|""[^""]*""|[^;]*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PasswordPattern();
}
