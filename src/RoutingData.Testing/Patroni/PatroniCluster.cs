using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Npgsql;
using RoutingData.Testing.Backends;
using RoutingData.Testing.Internal;

namespace RoutingData.Testing.Patroni;

/// <summary>
/// A real Patroni 3 cluster for tests: one etcd (v3 API) and N Patroni nodes, each managing a PostgreSQL server, all on
/// free loopback ports in a folder of its own. Patroni bootstraps the leader, builds the replicas with
/// <c>pg_basebackup</c>, fails over by itself when the leader dies, and rejoins a returning node with
/// <c>pg_rewind</c>. Passwords (SCRAM-SHA-256) are generated; everything is removed on dispose and at process exit,
/// and a run that was killed half-way is cleaned up by the next one. Needs the <c>patroni</c> and <c>etcd</c> programs
/// (Debian/Ubuntu: <c>apt-get install -y patroni etcd-server</c>) and the PostgreSQL server binaries.
/// </summary>
/// <example>
/// <code>
/// await using var cluster = await PatroniCluster.StartAsync();
/// var leader = await cluster.WaitForHealthyAsync();
/// await leader.KillAsync();
/// var promoted = await cluster.WaitForLeaderAsync(n => n != leader);
/// </code>
/// </example>
public sealed class PatroniCluster : IAsyncDisposable
{
    private readonly PatroniClusterOptions _options;
    private readonly List<PatroniNode> _nodes = [];
    private readonly List<PortReservation> _ports = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private EtcdServer? _etcd;
    private int _disposed;
    private volatile bool _preserveLogs;

    private PatroniCluster(string directory, PatroniClusterOptions options)
    {
        Directory = directory;
        _options = options;
        Scope = "rd-" + Path.GetFileName(directory);
    }

    /// <summary>Gets every node, in creation order (<c>pat0</c> first).</summary>
    public IReadOnlyList<PatroniNode> Nodes => _nodes;

    /// <summary>Gets Patroni's <c>scope</c> (the cluster's name in etcd).</summary>
    public string Scope { get; }

    /// <summary>Gets the folder on this machine that belongs to the cluster.</summary>
    public string Directory { get; }

    /// <summary>Gets the superuser: <c>postgres</c>.</summary>
    public string Username { get; } = "postgres";

    /// <summary>Gets the superuser's generated password (32 random letters and digits).</summary>
    public string Password { get; } = ClusterSecrets.NewPassword();

    /// <summary>Gets a multi-host Npgsql connection string naming every node's server, as <see cref="Username"/> with <see cref="Password"/>.</summary>
    public string ConnectionString => BuildConnectionString(_nodes.Select(n => (n.Address, n.Port)));

    /// <summary>Gets every node's REST API base URI, in node order.</summary>
    public IReadOnlyList<Uri> RestEndpoints => _nodes.Select(n => n.RestEndpoint).ToList();

    /// <summary>Gets how long <see cref="StartAsync"/> took, until the cluster was healthy.</summary>
    public TimeSpan StartupDuration { get; private set; }

    /// <summary>Gets the folder the logs were copied to on dispose, when <see cref="PreserveLogs"/> was called.</summary>
    public string? PreservedLogsDirectory { get; private set; }

    private string ReplicationPassword { get; } = ClusterSecrets.NewPassword();

    private string PreservedLogsFolder =>
        Path.Combine(Path.GetDirectoryName(Directory)!, StaleClusterJanitor.PreservedLogsFolder, Path.GetFileName(Directory));

    /// <summary>Null when Patroni and etcd are installed here; otherwise why a Patroni cluster cannot start — a reason fit for a skipped test.</summary>
    /// <returns>The reason, or null.</returns>
    public static string? GetUnavailableReason() => PatroniBinaries.GetUnavailableReason();

    /// <summary>Starts etcd and every Patroni node, and waits until one node leads and every other one streams from it.</summary>
    /// <param name="options">What to start; null for the defaults (three nodes, a failover in about 8 seconds).</param>
    /// <param name="cancellationToken">Cancels the start; whatever was started is removed.</param>
    /// <returns>The healthy cluster.</returns>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="ClusterHarnessException">Patroni or etcd is missing, or the cluster did not become healthy; the message carries the logs' ends.</exception>
    public static async Task<PatroniCluster> StartAsync(PatroniClusterOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new PatroniClusterOptions();
        options.Validate();
        if (GetUnavailableReason() is { } reason)
        {
            throw new ClusterHarnessException(reason);
        }

        var stopwatch = Stopwatch.StartNew();
        var binDirectory = options.BinDirectory is { Length: > 0 } explicitBin
            ? await PostgresBinaries.LocateAsync(explicitBin, null, "pg_config", "/nonexistent", cancellationToken).ConfigureAwait(false)
            : await PostgresBinaries.GetDefaultAsync().ConfigureAwait(false);
        var directory = await LocalClusterBackend.CreateClusterFolderAsync(options.RootDirectory ?? LocalClusterBackend.DefaultRoot, cancellationToken).ConfigureAwait(false);
        var cluster = new PatroniCluster(directory, options);
        ExitCleanup.Add(cluster, cluster.KillAndDeleteAtExit);
        try
        {
            var etcdPorts = cluster.ReservePorts(2);
            cluster._etcd = await EtcdServer.StartAsync(
                PatroniBinaries.Find("etcd")!, Path.Combine(directory, "etcd"), etcdPorts[0], etcdPorts[1], cluster._http, options.StartTimeout, cancellationToken).ConfigureAwait(false);

            var patroni = PatroniBinaries.Find("patroni")!;
            for (var i = 0; i < options.Nodes; i++)
            {
                var ports = cluster.ReservePorts(2);
                var name = string.Create(CultureInfo.InvariantCulture, $"pat{i}");
                var folder = Path.Combine(directory, name);
                System.IO.Directory.CreateDirectory(folder);
                await ServerUser.ChownAsync(folder, cancellationToken).ConfigureAwait(false);
                var node = new PatroniNode(name, folder, patroni, ports[0], ports[1], BuildConnectionString([("127.0.0.1", ports[0])], cluster.Password));
                await WriteSecretFileAsync(Path.Combine(folder, "patroni.yml"), cluster.BuildConfig(node, binDirectory), cancellationToken).ConfigureAwait(false);
                cluster._nodes.Add(node);
            }

            foreach (var node in cluster._nodes)
            {
                await node.StartAsync(cancellationToken).ConfigureAwait(false);
            }

            await cluster.WaitForHealthyAsync(options.StartTimeout, cancellationToken).ConfigureAwait(false);
            cluster.StartupDuration = stopwatch.Elapsed;
            return cluster;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var logs = await cluster.DescribeLogsAsync().ConfigureAwait(false);
            _ = cluster.PreserveLogs();
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw new ClusterHarnessException($"Starting the Patroni cluster in {directory} failed: {e.Message} Logs kept in {cluster.PreservedLogsDirectory}.{logs}", e);
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Reads <c>GET /cluster</c> from the first node whose REST API answers.</summary>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The JSON text Patroni returned.</returns>
    /// <exception cref="ClusterHarnessException">No node answered.</exception>
    public async Task<string> GetClusterJsonAsync(CancellationToken cancellationToken = default)
    {
        var errors = new List<string>();
        foreach (var node in _nodes.Where(n => n.IsRunning))
        {
            try
            {
                return await _http.GetStringAsync(new Uri(node.RestEndpoint, "cluster"), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                errors.Add($"{node.Name}: {e.Message}");
            }
        }

        throw new ClusterHarnessException($"No Patroni REST API answered GET /cluster: {string.Join("; ", errors)}");
    }

    /// <summary>The members as Patroni's <c>GET /cluster</c> reports them, from the first node that answers.</summary>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The members.</returns>
    public async Task<IReadOnlyList<PatroniMemberStatus>> GetMembersAsync(CancellationToken cancellationToken = default)
    {
        using var document = JsonDocument.Parse(await GetClusterJsonAsync(cancellationToken).ConfigureAwait(false));
        var members = new List<PatroniMemberStatus>();
        foreach (var member in document.RootElement.GetProperty("members").EnumerateArray())
        {
            members.Add(new PatroniMemberStatus(
                member.GetProperty("name").GetString()!,
                member.TryGetProperty("role", out var role) ? role.GetString() ?? string.Empty : string.Empty,
                member.TryGetProperty("state", out var state) ? state.GetString() ?? string.Empty : string.Empty,
                member.TryGetProperty("host", out var host) ? host.GetString() : null,
                member.TryGetProperty("port", out var port) && port.ValueKind == JsonValueKind.Number ? port.GetInt32() : null,
                member.TryGetProperty("timeline", out var timeline) && timeline.ValueKind == JsonValueKind.Number ? timeline.GetInt32() : null));
        }

        return members;
    }

    /// <summary>
    /// Waits until Patroni reports a running leader that satisfies <paramref name="predicate"/> (any leader when null),
    /// polling <c>/cluster</c> every 10 ms (so the time it returns is within about 10 ms of Patroni's report).
    /// </summary>
    /// <param name="predicate">Which leader to wait for, e.g. <c>n =&gt; n != formerLeader</c>.</param>
    /// <param name="timeout">How long to wait; <see cref="PatroniClusterOptions.StartTimeout"/> when null.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The leader.</returns>
    /// <exception cref="TimeoutException">No such leader within the timeout.</exception>
    public async Task<PatroniNode> WaitForLeaderAsync(Func<PatroniNode, bool>? predicate = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        PatroniNode? leader = null;
        await PollUntilAsync(
            async ct =>
            {
                leader = FindLeader(await GetMembersAsync(ct).ConfigureAwait(false));
                return leader is not null && (predicate is null || predicate(leader));
            },
            TimeSpan.FromMilliseconds(10),
            timeout ?? _options.StartTimeout,
            "Patroni to report the leader asked for",
            cancellationToken).ConfigureAwait(false);
        return leader!;
    }

    /// <summary>
    /// Waits until the cluster is healthy: Patroni reports one running leader, every node whose daemon runs is a running
    /// replica on the leader's timeline, and the leader's <c>pg_stat_replication</c> shows each of them streaming.
    /// </summary>
    /// <param name="timeout">How long to wait; <see cref="PatroniClusterOptions.StartTimeout"/> when null.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The leader.</returns>
    /// <exception cref="TimeoutException">Not healthy within the timeout; the message says what Patroni reported last.</exception>
    public async Task<PatroniNode> WaitForHealthyAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        PatroniNode? leader = null;
        var last = "nothing yet";
        try
        {
            await PollUntilAsync(
                async ct =>
                {
                    var members = await GetMembersAsync(ct).ConfigureAwait(false);
                    last = string.Join(", ", members.Select(m => $"{m.Name} {m.Role} {m.State} timeline {m.Timeline}"));
                    leader = FindLeader(members);
                    var leaderTimeline = members.FirstOrDefault(m => m.IsRunningLeader)?.Timeline;
                    var replicas = _nodes.Where(n => n.IsRunning && n != leader).ToList();
                    if (leader is null || !replicas.TrueForAll(n => members.Any(m => m.Name == n.Name && m.IsRunningReplica && m.Timeline == leaderTimeline)))
                    {
                        return false;
                    }

                    var streaming = await leader.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", ct).ConfigureAwait(false);
                    last += string.Create(CultureInfo.InvariantCulture, $"; {streaming} streaming from {leader.Name}");
                    return streaming >= replicas.Count;
                },
                TimeSpan.FromMilliseconds(100),
                timeout ?? _options.StartTimeout,
                "the Patroni cluster to be healthy",
                cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} Patroni reported: {last}.", e);
        }

        return leader!;
    }

    /// <summary>
    /// Keeps the logs (Patroni's and PostgreSQL's of every node, etcd's) when the cluster is disposed: they are copied to
    /// a folder under the cluster root, named in <see cref="PreservedLogsDirectory"/>. Test fixtures call this when a test fails.
    /// </summary>
    /// <returns>The folder the logs will be copied to.</returns>
    public string PreserveLogs()
    {
        _preserveLogs = true;
        return PreservedLogsFolder;
    }

    /// <summary>Kills every Patroni daemon, server and etcd, removes the cluster's folder and, if <see cref="PreserveLogs"/> was called, keeps the logs.</summary>
    /// <returns>A task that completes when everything is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await Task.WhenAll(_nodes.Select(n => n.StopAsync())).ConfigureAwait(false);
            if (_etcd is not null)
            {
                await _etcd.DisposeAsync().ConfigureAwait(false);
            }

            // Whatever a daemon started after it was listed (nothing, normally).
            StaleClusterJanitor.KillServers(Directory);
            if (_preserveLogs)
            {
                var folder = PreservedLogsFolder;
                System.IO.Directory.CreateDirectory(folder);
                foreach (var log in System.IO.Directory.EnumerateFiles(Directory, "*.log", SearchOption.AllDirectories).Where(f => !f.Contains("/data/", StringComparison.Ordinal)))
                {
                    File.Copy(log, Path.Combine(folder, Path.GetFileName(Path.GetDirectoryName(log)) + "-" + Path.GetFileName(log)), overwrite: true);
                }

                PreservedLogsDirectory = folder;
                await Console.Error.WriteLineAsync($"RoutingData.Testing: logs of Patroni cluster {Path.GetFileName(Directory)} kept in {folder}").ConfigureAwait(false);
            }
        }
        finally
        {
            TryDeleteDirectory();
            foreach (var port in _ports)
            {
                port.Dispose();
            }

            _http.Dispose();
            ExitCleanup.Remove(this);
        }
    }

    private static string BuildConnectionString(IEnumerable<(string Host, int Port)> hosts, string password) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = string.Join(',', hosts.Select(h => string.Create(CultureInfo.InvariantCulture, $"{h.Host}:{h.Port}"))),
            Username = "postgres",
            Password = password,
            Database = "postgres",
            Timeout = 5,
        }.ConnectionString;

    private string BuildConnectionString(IEnumerable<(string Host, int Port)> hosts) => BuildConnectionString(hosts, Password);

    /// <summary>Checks <paramref name="condition"/> every <paramref name="interval"/> (not backing off: failover timings are measured with it).</summary>
    private static async Task PollUntilAsync(Func<CancellationToken, Task<bool>> condition, TimeSpan interval, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        Exception? lastError = null;
        while (true)
        {
            try
            {
                if (await condition(cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                lastError = null;
            }
            catch (Exception e) when (e is ClusterHarnessException or NpgsqlException or JsonException or KeyNotFoundException or InvalidOperationException or IOException && !cancellationToken.IsCancellationRequested)
            {
                lastError = e; // No REST API answered (nodes starting, or all killed), or a server is switching over.
            }

            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException(
                    $"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}." + (lastError is null ? string.Empty : $" Last error: {lastError.Message}"),
                    lastError);
            }

            await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task WriteSecretFileAsync(string path, string content, CancellationToken cancellationToken)
    {
        // Created 0600: the file holds the passwords.
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var stream = new FileStream(path, options);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(content), cancellationToken).ConfigureAwait(false);
        }

        await ServerUser.ChownAsync(path, cancellationToken).ConfigureAwait(false);
    }

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private void KillAndDeleteAtExit()
    {
        if (!_preserveLogs)
        {
            StaleClusterJanitor.KillServers(Directory);
            TryDeleteDirectory();
        }
    }

    private PatroniNode? FindLeader(IReadOnlyList<PatroniMemberStatus> members)
    {
        var leaders = members.Where(m => m.IsRunningLeader).ToList();
        return leaders.Count == 1 ? _nodes.FirstOrDefault(n => n.Name == leaders[0].Name) : null;
    }

    private int[] ReservePorts(int count)
    {
        var ports = new int[count];
        for (var i = 0; i < count; i++)
        {
            var reservation = FreePorts.Reserve();
            _ports.Add(reservation);
            ports[i] = reservation.Port;
        }

        return ports;
    }

    private string BuildConfig(PatroniNode node, string binDirectory)
    {
        var listen = string.Create(CultureInfo.InvariantCulture, $"{node.Address}:{node.Port}");
        var rest = string.Create(CultureInfo.InvariantCulture, $"{node.Address}:{node.RestPort}");
        var o = _options;
        return string.Create(CultureInfo.InvariantCulture, $$"""
            scope: {{Quote(Scope)}}
            name: {{node.Name}}
            log:
              level: INFO
            restapi:
              listen: {{rest}}
              connect_address: {{rest}}
            etcd3:
              hosts: {{_etcd!.ClientAddress}}
            bootstrap:
              dcs:
                ttl: {{o.Ttl}}
                loop_wait: {{o.LoopWait}}
                retry_timeout: {{o.RetryTimeout}}
                maximum_lag_on_failover: 16777216
                postgresql:
                  use_pg_rewind: true
                  use_slots: true
                  parameters:
                    wal_log_hints: 'on'
                    fsync: 'off'
                    max_connections: 200
                    max_wal_senders: 10
                    max_replication_slots: 10
                    wal_keep_size: 256MB
                    hot_standby: 'on'
                    wal_receiver_status_interval: 1s
                    wal_retrieve_retry_interval: 200ms
                    shared_buffers: 32MB
              initdb:
                - encoding: UTF8
                - locale: C
                - auth: scram-sha-256
            postgresql:
              listen: {{listen}}
              connect_address: {{listen}}
              data_dir: {{Quote(node.DataDirectory)}}
              bin_dir: {{Quote(binDirectory)}}
              pgpass: {{Quote(Path.Combine(node.Folder, "pgpass"))}}
              authentication:
                superuser:
                  username: postgres
                  password: {{Quote(Password)}}
                replication:
                  username: replicator
                  password: {{Quote(ReplicationPassword)}}
                rewind:
                  username: postgres
                  password: {{Quote(Password)}}
              parameters:
                unix_socket_directories: {{Quote(node.Folder)}}
              pg_hba:
                - host all all 127.0.0.1/32 scram-sha-256
                - host replication replicator 127.0.0.1/32 scram-sha-256
            """);
    }

    private async Task<string> DescribeLogsAsync()
    {
        var text = new StringBuilder();
        foreach (var node in _nodes)
        {
            text.Append(Environment.NewLine).Append(node.Name).Append(" log, last lines:").Append(Environment.NewLine)
                .Append(await node.ReadLogTailAsync(1500, CancellationToken.None).ConfigureAwait(false));
        }

        return text.ToString();
    }

    private void TryDeleteDirectory()
    {
        try
        {
            if (System.IO.Directory.Exists(Directory))
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The janitor of the next run removes it: its owner (this process) will be gone.
        }
    }
}
