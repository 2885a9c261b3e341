using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RoutingData.Tests.Topology;

/// <summary>Every log entry of a data source, with its structured values, for assertions on what was (not) logged.</summary>
internal sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, int EventId, string Text)> _entries = new();

    public IReadOnlyList<(LogLevel Level, int EventId, string Text)> Entries => [.. _entries];

    public ILoggerFactory CreateFactory() => LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(this));

    public ILogger CreateLogger(string categoryName) => new Logger(this, IsRoutingDatas(categoryName));

    /// <summary>
    /// Npgsql's event ids overlap RoutingData's: only RoutingData's own loggers keep theirs (not Npgsql's, nor Npgsql's
    /// entries for RoutingData's internal connections); every entry keeps its text, for the checks of what was logged.
    /// </summary>
    private static bool IsRoutingDatas(string categoryName) =>
        categoryName.StartsWith("RoutingData", StringComparison.Ordinal) && !categoryName.StartsWith("RoutingData.Internal.", StringComparison.Ordinal);

    public string AllText() => string.Join("\n", _entries.Select(e => e.Text));

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, bool ownEventIds) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // The structured values too: a sink may write them even where the message leaves them out.
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
            capture._entries.Enqueue((logLevel, ownEventIds ? eventId.Id : 0, $"{formatter(state, exception)} | {values} | {exception}"));
        }
    }
}
