using System.Collections.Concurrent;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Routing;

/// <summary>
/// RoutingData's own queries (probes every interval, position captures after every write) are not the application's:
/// Npgsql's entries for them go under their own category, one level lower, so an application logging Npgsql's
/// commands at Information sees its own commands and not a probe per host per second.
/// </summary>
public sealed class InternalLogTests(RoutingClusterFixture fixture) : ClusterTestBase, IClassFixture<RoutingClusterFixture>
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Probes_and_captures_log_under_their_own_category_one_level_lower_and_the_applications_commands_stay()
    {
        var cluster = UseShared(fixture.Cluster);
        var entries = new ConcurrentQueue<(string Category, LogLevel Level, string Message)>();
        using var loggerFactory = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(new Provider(entries)));
        await cluster.Primary.ExecuteAsync("CREATE TABLE IF NOT EXISTS internal_log_test (id int)", _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster, builder => builder.UseLoggerFactory(loggerFactory));
        await using (var connection = await dataSource.OpenConnectionAsync(_ct))
        {
            await connection.ExecuteAsync("INSERT INTO internal_log_test VALUES (1)");
            await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM internal_log_test");
        }

        // Wait for what the library does by itself: probes of every host, and the capture after the write.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!(Count(entries, "pg_is_in_recovery()") >= 6 && Count(entries, "pg_current_wal_insert_lsn()") >= 1))
        {
            Assert.True(DateTime.UtcNow < deadline, "no probe or capture was logged at all");
            await Task.Delay(50, _ct);
        }

        var all = entries.ToArray();
        foreach (var (category, level, message) in all)
        {
            // (A command of the application's may carry a capture in its own batch: that entry is the application's.)
            var internalQuery = message.Contains("pg_is_in_recovery()", StringComparison.Ordinal) || message.Contains("pg_current_wal_insert_lsn()", StringComparison.Ordinal);
            if (internalQuery && !message.Contains("internal_log_test", StringComparison.Ordinal))
            {
                Assert.True(category.StartsWith("RoutingData.Internal.Npgsql", StringComparison.Ordinal), $"{category} at {level}: {message}");
                Assert.True(level <= LogLevel.Debug, $"{category} logged an internal query at {level}: {message}");
            }
        }

        // The application's own commands are where they were: Npgsql's category, Npgsql's level.
        Assert.Contains(all, e => e.Category == "Npgsql.Command" && e.Level == LogLevel.Information && e.Message.Contains("INSERT INTO internal_log_test", StringComparison.Ordinal));
        Assert.DoesNotContain(all, e => e.Category.StartsWith("Npgsql", StringComparison.Ordinal) && e.Level >= LogLevel.Information && e.Message.Contains("pg_is_in_recovery()", StringComparison.Ordinal));

        var password = new NpgsqlConnectionStringBuilder(cluster.ConnectionString).Password;
        if (!string.IsNullOrEmpty(password))
        {
            Assert.DoesNotContain(all, e => e.Message.Contains(password, StringComparison.Ordinal));
        }
    }

    private static int Count(ConcurrentQueue<(string Category, LogLevel Level, string Message)> entries, string fragment)
    {
        var count = 0;
        foreach (var entry in entries)
        {
            if (entry.Message.Contains(fragment, StringComparison.Ordinal))
            {
                count++;
            }
        }

        return count;
    }

    private sealed class Provider(ConcurrentQueue<(string Category, LogLevel Level, string Message)> entries) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(entries, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(ConcurrentQueue<(string Category, LogLevel Level, string Message)> entries, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue((category, logLevel, formatter(state, exception)));
    }
}
