using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Xunit;

namespace RoutingData.Tests.Telemetry;

/// <summary>
/// What an application sees through the RoutingData.OpenTelemetry package (spans of RoutingData and Npgsql, RoutingData's
/// metrics, in memory) and through logging (every category at Trace), plus the exception messages a test adds.
/// </summary>
internal sealed class TelemetryCapture : ILoggerProvider
{
    private readonly List<Activity> _spans = [];
    private readonly List<MetricSnapshot> _metrics = [];
    private readonly ConcurrentQueue<(string Category, int EventId, LogLevel Level, string Message)> _logs = new();
    private readonly ConcurrentQueue<string> _exceptions = new();
    private readonly TracerProvider _tracing;
    private readonly MeterProvider _meters;
    private int _disposed;

    /// <summary>The activity source of the tests' own spans.</summary>
    public const string TestSourceName = "RoutingData.Tests.Telemetry";

    public TelemetryCapture()
    {
        _tracing = Sdk.CreateTracerProviderBuilder()
            .AddRoutingDataInstrumentation()
            .AddSource("Npgsql")
            .AddSource(TestSourceName)
            .AddInMemoryExporter(_spans)
            .Build()!;
        _meters = Sdk.CreateMeterProviderBuilder()
            .AddRoutingDataInstrumentation()
            .AddInMemoryExporter(_metrics)
            .Build()!;
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(this));
    }

    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The spans stopped so far (a copy: the exporter adds to the list from other threads).</summary>
    public List<Activity> Spans()
    {
        lock (_spans)
        {
            return [.. _spans];
        }
    }

    /// <summary>RoutingData's own log events (not Npgsql's, whose ids overlap RoutingData's ranges).</summary>
    public List<(string Category, int EventId, LogLevel Level, string Message)> RoutingDataLogs() =>
        _logs.Where(l => l.Category.StartsWith("RoutingData", StringComparison.Ordinal) && !l.Category.StartsWith("RoutingData.Internal.", StringComparison.Ordinal)).ToList();

    public bool Logged(int eventId) => RoutingDataLogs().Exists(l => l.EventId == eventId);

    public void Exception(Exception error) => _exceptions.Enqueue(error.ToString());

    /// <summary>Collects every instrument now (observable ones call back) and returns the points of <paramref name="name"/>.</summary>
    public List<MetricPoint> Points(string name)
    {
        lock (_metrics)
        {
            _metrics.Clear();
        }

        Assert.True(_meters.ForceFlush(10_000), "the meter provider did not flush");
        var points = new List<MetricPoint>();
        lock (_metrics)
        {
            foreach (var metric in _metrics.Where(m => m.Name == name))
            {
                points.AddRange(metric.MetricPoints);
            }
        }

        return points;
    }

    public static string? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    public static bool Has(MetricPoint point, params (string Key, object Value)[] tags) =>
        tags.All(t => Tag(point, t.Key) == Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Everything captured, as text: log lines, every metric's name and tags, every span's name, tags and events, exceptions.</summary>
    public string Text()
    {
        var text = new StringBuilder();
        foreach (var log in _logs)
        {
            text.Append(log.Category).Append(' ').AppendLine(log.Message);
        }

        Assert.True(_meters.ForceFlush(10_000));
        lock (_metrics)
        {
            foreach (var metric in _metrics)
            {
                foreach (var point in metric.MetricPoints)
                {
                    text.Append(metric.Name);
                    foreach (var tag in point.Tags)
                    {
                        text.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
                    }

                    text.AppendLine();
                }
            }
        }

        foreach (var span in Spans())
        {
            text.Append(span.Source.Name).Append(' ').Append(span.DisplayName).Append(' ').Append(span.StatusDescription);
            foreach (var tag in span.TagObjects)
            {
                text.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
            }

            foreach (var e in span.Events)
            {
                text.Append(' ').Append(e.Name);
                foreach (var tag in e.Tags)
                {
                    text.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
                }
            }

            text.AppendLine();
        }

        foreach (var exception in _exceptions)
        {
            text.AppendLine(exception);
        }

        return text.ToString();
    }

    /// <summary>Whether any 8 consecutive characters of the secret occur in the text (a truncated or partial leak counts).</summary>
    public static bool Leaks(string text, string secret) =>
        Enumerable.Range(0, secret.Length - 7).Any(i => text.Contains(secret.Substring(i, 8), StringComparison.Ordinal));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
        // The logger factory disposes its providers, this one included.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _tracing.Dispose();
        _meters.Dispose();
        LoggerFactory.Dispose();
    }

    private sealed class Logger(TelemetryCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            capture._logs.Enqueue((category, eventId.Id, logLevel, formatter(state, exception) + (exception is null ? string.Empty : " " + exception)));
    }
}
