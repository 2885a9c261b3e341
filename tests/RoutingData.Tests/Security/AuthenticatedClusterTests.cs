using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Security;

/// <summary>
/// RoutingData over a cluster with SCRAM-SHA-256 passwords and TLS: routing and read-your-writes work as over trust, and
/// the password appears in nothing the library reports — logs (its own and Npgsql's, at every level), exception
/// messages, connection strings, host statuses, metric tags and activity tags — also when hosts fail.
/// </summary>
public sealed class AuthenticatedClusterTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    private static PostgresClusterOptions Secure() =>
        new() { Replicas = 1, Authentication = ClusterAuthentication.ScramSha256, UseTls = true };

    [Fact]
    public async Task Reads_go_to_the_replica_writes_to_the_primary_and_a_session_reads_its_own_write_over_scram_and_tls()
    {
        var cluster = await StartDedicatedClusterAsync(Secure());
        var (primary, replica) = (cluster.Primary, cluster.Replicas[0]);
        await primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        await using var dataSource = await CreateDataSourceAsync(cluster);
        Assert.All(dataSource.GetHosts(), h => Assert.Equal(HostHealth.Healthy, h.Health));
        await using var connection = dataSource.CreateConnection();

        await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'first')");
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
        Assert.EndsWith($":{primary.Port}", connection.LastRoute!.Value.Host, StringComparison.Ordinal);

        // Once the replica has the write, the session's reads go there — over TLS, authenticated by SCRAM.
        await WaitForSessionAsync(cluster, dataSource, connection.ConsistencySession);
        var (port, inRecovery) = await WhereAsync(connection);
        Assert.Equal((replica.Port, true), (port, inRecovery));
        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
        Assert.True(await connection.ExecuteScalarAsync<bool>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
        Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
        Assert.Equal("first", await connection.QuerySingleAsync<string>("SELECT v FROM kv WHERE k = 1"));

        // With the replica 30 seconds behind (far more than any stall of a busy machine), the session still reads its own write (from the primary) …
        await replica.SetReplayDelayAsync(TimeSpan.FromSeconds(30), _ct);
        await connection.ExecuteAsync("INSERT INTO kv VALUES (2, 'mine')");
        Assert.Equal("mine", await connection.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 2"));
        Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
        Assert.Contains(connection.LastRoute!.Value.Reason, new[] { RoutingReason.PositionPending, RoutingReason.NotCaughtUp });

        // … while a session without the write reads the lagging replica and does not see it: the lag is real.
        await using var stranger = dataSource.CreateConnection();
        Assert.Null(await stranger.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 2"));
        Assert.Equal(HostRole.Replica, stranger.LastRoute!.Value.Role);
    }

    [Fact]
    public async Task The_password_appears_in_no_log_exception_connection_string_host_status_or_metric()
    {
        var cluster = await StartDedicatedClusterAsync(Secure());
        var password = cluster.Password!;
        var wrongPassword = RandomPassword();

        // Long and random, so finding any 8 of its characters in a row in the captured text means a leak.
        Assert.Matches("^[A-Za-z0-9]{32}$", password);
        Assert.True(password.Distinct().Count() >= 12, "the password is not random enough to detect leaks by");
        Assert.True(Leaks(cluster.ConnectionString, password), "the leak detector misses the password where it is");

        await using var capture = new Capture();
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text)", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        var hosts = string.Join(',', cluster.Nodes.Select(n => $"{n.Address}:{n.Port}"));
        var unreachable = $"127.0.0.1:{ClosedPort()}";

        // 1. A healthy data source with the real password: routes writes, reads and a failing statement.
        await using (var dataSource = await capture.DataSourceAsync(cluster.ConnectionString))
        {
            await using var connection = dataSource.CreateConnection();
            await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'one')");
            await WaitForSessionAsync(cluster, dataSource, connection.ConsistencySession);
            await connection.QuerySingleAsync<string>("SELECT v FROM kv WHERE k = 1");
            capture.Route(connection.LastRoute);
            await capture.ThrowsAsync(() => connection.ExecuteAsync("INSERT INTO no_such_table VALUES (1)"));
            await capture.ThrowsAsync(() => connection.QueryAsync<int>("SELECT * FROM no_such_table"));
            capture.Describe(dataSource);
        }

        // 2. Only the primary, and reads that must go to a replica: NoSuitableHostException names every host.
        await using (var dataSource = await capture.DataSourceAsync(
            WithHosts(cluster.ConnectionString, $"{cluster.Primary.Address}:{cluster.Primary.Port}"),
            b => b.UseReadPreference(ReadPreference.Replica)))
        {
            await using var connection = dataSource.CreateConnection();
            var error = await capture.ThrowsAsync(() => connection.QueryAsync<int>("SELECT 1"));
            Assert.IsType<NoSuitableHostException>(error);
            capture.Describe(dataSource);
        }

        // 3. A wrong password on every host (the server refuses it: 28P01).
        await using (var dataSource = await capture.DataSourceAsync(WithPassword(cluster.ConnectionString, wrongPassword)))
        {
            await using var connection = dataSource.CreateConnection();
            await capture.ThrowsAsync(() => connection.ExecuteAsync("INSERT INTO kv VALUES (2, 'two')"));
            await capture.ThrowsAsync(() => connection.QueryAsync<int>("SELECT 1"));
            capture.Describe(dataSource);
            Assert.All(dataSource.GetHosts(), h => Assert.Contains("28P01", h.LastError, StringComparison.Ordinal));
        }

        // 4. A host name that does not resolve and a port nobody listens on, next to the real hosts, then alone.
        await using (var dataSource = await capture.DataSourceAsync(WithHosts(cluster.ConnectionString, $"no-such-host.invalid:5432,{unreachable},{hosts}")))
        {
            await using var connection = dataSource.CreateConnection();
            await connection.ExecuteAsync("INSERT INTO kv VALUES (3, 'three')");
            capture.Describe(dataSource);
            Assert.Equal(2, dataSource.GetHosts().Count(h => h.LastError is not null));
        }

        await using (var dataSource = await capture.DataSourceAsync(WithHosts(cluster.ConnectionString, $"no-such-host.invalid:5432,{unreachable}")))
        {
            await using var connection = dataSource.CreateConnection();
            Assert.IsType<NoSuitableHostException>(await capture.ThrowsAsync(() => connection.ExecuteAsync("INSERT INTO kv VALUES (4, 'four')")));
            await capture.ThrowsAsync(() => connection.QueryAsync<int>("SELECT 1"));
            capture.Describe(dataSource);
        }

        // 5. Invalid configuration next to the password: the validation message lists the problems, not the password.
        capture.Exception(Assert.Throws<ArgumentException>(() =>
        {
            var builder = new ReplicatedDataSourceBuilder(cluster.ConnectionString + ";Timeout=not-a-number");
            builder.Options.MaxReplicaLag = TimeSpan.FromSeconds(-1);
            builder.Options.ReplicaWeights["not-a-host:1"] = -2;
            return builder.Build();
        }));

        var text = capture.Text();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"Captured {capture.LogCount} log entries ({string.Join(", ", capture.Categories.Order())}), {capture.ExceptionCount} exceptions, {capture.MetricTagCount} metric tags: {text.Length} characters.");

        // Something to search: every source reported, including the failures the password could leak through.
        Assert.True(capture.LogCount > 0 && capture.Categories.Any(c => c.StartsWith("Npgsql", StringComparison.Ordinal)) && capture.Categories.Any(c => c.StartsWith("RoutingData", StringComparison.Ordinal)), string.Join(", ", capture.Categories));
        Assert.True(capture.ExceptionCount >= 8, $"{capture.ExceptionCount} exceptions captured");
        Assert.True(capture.MetricTagCount > 0, "no metric tags captured");
        Assert.Contains("password authentication failed", text, StringComparison.Ordinal);
        Assert.Contains("no-such-host.invalid", text, StringComparison.Ordinal);
        Assert.Contains(unreachable, text, StringComparison.Ordinal);
        Assert.Contains("MaxReplicaLag", text, StringComparison.Ordinal);

        Assert.False(Leaks(text, password), "The superuser password leaked: " + Excerpt(text, password));
        Assert.False(Leaks(text, wrongPassword), "The wrong password leaked: " + Excerpt(text, wrongPassword));
        Assert.False(Leaks(text, cluster.ReplicationPassword!), "The replication password leaked.");
    }

    private static string RandomPassword() =>
        System.Security.Cryptography.RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32);

    /// <summary>Whether any 8 consecutive characters of the secret occur in the text (a truncated or partial leak counts).</summary>
    private static bool Leaks(string text, string secret) =>
        Enumerable.Range(0, secret.Length - 7).Any(i => text.Contains(secret.Substring(i, 8), StringComparison.Ordinal));

    private static string Excerpt(string text, string secret)
    {
        var at = Enumerable.Range(0, secret.Length - 7).Select(i => text.IndexOf(secret.Substring(i, 8), StringComparison.Ordinal)).FirstOrDefault(i => i >= 0);
        return text.Substring(Math.Max(0, at - 200), Math.Min(400, text.Length - Math.Max(0, at - 200)));
    }

    private static string WithHosts(string connectionString, string hosts) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Host = hosts }.ConnectionString;

    private static string WithPassword(string connectionString, string password) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Password = password }.ConnectionString;

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Everything RoutingData reports while it is alive: logs at every level, metric and activity tags, and what the test adds.</summary>
    private sealed class Capture : IAsyncDisposable
    {
        private readonly ConcurrentQueue<string> _texts = new();
        private readonly ConcurrentDictionary<string, byte> _categories = new();
        private readonly ILoggerFactory _loggerFactory;
        private readonly MeterListener _meterListener = new();
        private readonly ActivityListener _activityListener;
        private int _logs;
        private int _exceptions;
        private int _metricTags;

        public Capture()
        {
            _loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new Provider(this)));
            _meterListener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name is RoutingDiagnostics.MeterName || instrument.Meter.Name.StartsWith("Npgsql", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _meterListener.SetMeasurementEventCallback<long>((instrument, _, tags, _) => Tags(instrument, tags));
            _meterListener.SetMeasurementEventCallback<int>((instrument, _, tags, _) => Tags(instrument, tags));
            _meterListener.SetMeasurementEventCallback<double>((instrument, _, tags, _) => Tags(instrument, tags));
            _meterListener.Start();
            _activityListener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == RoutingDiagnostics.ActivitySourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity => Add(activity.DisplayName + " " + string.Join(" ", activity.TagObjects.Select(t => $"{t.Key}={t.Value}"))),
            };
            ActivitySource.AddActivityListener(_activityListener);
        }

        public int LogCount => Volatile.Read(ref _logs);

        public int ExceptionCount => Volatile.Read(ref _exceptions);

        public int MetricTagCount => Volatile.Read(ref _metricTags);

        public IReadOnlyCollection<string> Categories => _categories.Keys.ToList();

        public async Task<ReplicatedDataSource> DataSourceAsync(string connectionString, Action<ReplicatedDataSourceBuilder>? configure = null)
        {
            var builder = new ReplicatedDataSourceBuilder(connectionString).UseLoggerFactory(_loggerFactory);
            builder.Options.TopologyProbeInterval = TimeSpan.FromMilliseconds(200);
            builder.Options.TopologyProbeTimeout = TimeSpan.FromSeconds(2);
            configure?.Invoke(builder);
            var dataSource = builder.Build();
            Add(dataSource.ConnectionString);
            try
            {
                await dataSource.WaitForTopologyAsync(TestContext.Current.CancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Exception(e);
            }

            return dataSource;
        }

        public async Task<Exception> ThrowsAsync(Func<Task> action)
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(action);
            Exception(error);
            return error;
        }

        public void Exception(Exception error)
        {
            Interlocked.Increment(ref _exceptions);

            // ToString has every message, inner exception and stack; PostgresException details come on their own.
            Add(error.ToString());
            for (Exception? e = error; e is not null; e = e.InnerException)
            {
                Add(e.Message);
                if (e is PostgresException postgres)
                {
                    Add($"{postgres.SqlState} {postgres.MessageText} {postgres.Detail} {postgres.Hint} {postgres.Where}");
                }

                foreach (var value in e.Data.Values)
                {
                    Add(value?.ToString());
                }
            }
        }

        public void Describe(ReplicatedDataSource dataSource)
        {
            Add(dataSource.ConnectionString);
            foreach (var host in dataSource.GetHosts())
            {
                Add(host.ToString());
                Add(host.LastError);
            }
        }

        public void Route(RouteInfo? route) => Add(route?.ToString());

        public string Text() => string.Join("\n", _texts);

        public ValueTask DisposeAsync()
        {
            _meterListener.Dispose();
            _activityListener.Dispose();
            _loggerFactory.Dispose();
            return ValueTask.CompletedTask;
        }

        private void Add(string? text)
        {
            if (!string.IsNullOrEmpty(text))
            {
                _texts.Enqueue(text);
            }
        }

        private void Tags(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                Interlocked.Increment(ref _metricTags);
                Add($"{instrument.Meter.Name}/{instrument.Name} {tag.Key}={tag.Value}");
            }
        }

        private sealed class Provider(Capture capture) : ILoggerProvider
        {
            public ILogger CreateLogger(string categoryName) => new Logger(capture, categoryName);

            public void Dispose()
            {
            }
        }

        private sealed class Logger(Capture capture, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                capture.Add($"{category} scope {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                Interlocked.Increment(ref capture._logs);
                capture._categories.TryAdd(category, 0);
                capture.Add($"{logLevel} {category} {eventId} {formatter(state, exception)}");

                // The structured values too: a sink may write them even where the message leaves them out.
                if (state is IEnumerable<KeyValuePair<string, object?>> values)
                {
                    foreach (var (key, value) in values)
                    {
                        capture.Add($"{key}={value}");
                    }
                }

                if (exception is not null)
                {
                    capture.Exception(exception);
                }
            }
        }
    }
}
