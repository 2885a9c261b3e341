using Microsoft.Extensions.Logging;

namespace RoutingData.Diagnostics;

/// <summary>
/// The logger factory of RoutingData's own connections (probes, position captures): Npgsql's entries for them go
/// under <c>RoutingData.Internal.</c> + Npgsql's category, one level lower (Information → Debug, Debug → Trace), so
/// the application's <c>Npgsql.Command</c> log holds the application's commands and not a probe every second.
/// Warnings and errors keep their level.
/// </summary>
internal sealed class InternalLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    /// <summary>The category prefix of internal connections' log entries.</summary>
    public const string CategoryPrefix = "RoutingData.Internal.";

    public ILogger CreateLogger(string categoryName) => new DemotingLogger(inner.CreateLogger(CategoryPrefix + categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The application owns the inner factory.
    }

    private static LogLevel Demote(LogLevel level) => level switch
    {
        LogLevel.Information => LogLevel.Debug,
        LogLevel.Debug => LogLevel.Trace,
        _ => level,
    };

    private sealed class DemotingLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(Demote(logLevel));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var level = Demote(logLevel);
            if (inner.IsEnabled(level))
            {
                inner.Log(level, eventId, state, exception, formatter);
            }
        }
    }
}
