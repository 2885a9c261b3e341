using System.Globalization;
using Npgsql;
using RoutingData.Testing.Internal;

namespace RoutingData.Testing.Patroni;

/// <summary>
/// One node of a <see cref="PatroniCluster"/>: a Patroni daemon and the PostgreSQL server it manages, each on a
/// loopback port of its own. Which node leads is Patroni's choice; ask <see cref="PatroniCluster.GetMembersAsync"/>.
/// </summary>
public sealed class PatroniNode
{
    private readonly string _binary;
    private readonly string _configFile;
    private DaemonProcess? _process;

    internal PatroniNode(string name, string folder, string binary, int port, int restPort, string connectionString)
    {
        Name = name;
        Folder = folder;
        _binary = binary;
        _configFile = Path.Combine(folder, "patroni.yml");
        Port = port;
        RestPort = restPort;
        RestEndpoint = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{Address}:{restPort}/"));
        // Not pooled: a pooled connection to a server killed since would fail its next command.
        ConnectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;
        DataDirectory = Path.Combine(folder, "data");
    }

    /// <summary>Gets the Patroni member name (<c>pat0</c>, <c>pat1</c>, …).</summary>
    public string Name { get; }

    /// <summary>Gets the address the node's PostgreSQL server and REST API listen on.</summary>
    public string Address { get; } = "127.0.0.1";

    /// <summary>Gets the PostgreSQL port.</summary>
    public int Port { get; }

    /// <summary>Gets the port of Patroni's REST API.</summary>
    public int RestPort { get; }

    /// <summary>Gets the REST API's base URI (<c>http://127.0.0.1:port/</c>; <c>/cluster</c> lies under it).</summary>
    public Uri RestEndpoint { get; }

    /// <summary>
    /// Gets an Npgsql connection string for this node's server alone, as the superuser, with its password. It turns
    /// pooling off: the node may be killed and come back, and a pooled connection from before would fail.
    /// </summary>
    public string ConnectionString { get; }

    /// <summary>Gets a value indicating whether the node's Patroni daemon runs (started and not killed since).</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Gets the PostgreSQL data directory Patroni manages.</summary>
    public string DataDirectory { get; }

    internal string Folder { get; }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name} (PostgreSQL {Address}:{Port}, REST {RestPort})");

    /// <summary>Starts the node's Patroni daemon (again, after <see cref="KillAsync"/>); it starts or rejoins its server by itself.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes once the daemon runs (not when its server is ready: wait on the cluster for that).</returns>
    /// <exception cref="ClusterHarnessException">The daemon runs already.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (IsRunning)
        {
            throw new ClusterHarnessException($"Patroni of {Name} runs already.");
        }

        _process?.Dispose();
        _process = DaemonProcess.Start(_binary, [_configFile], Folder, Path.Combine(Folder, "patroni.log"), ServerUser.RunAsServerUser);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Crashes the node as a machine crash would: SIGKILL to its Patroni daemon (first, so it cannot restart the server)
    /// and to its postmaster and the postmaster's children. The leader key it held expires after Patroni's <c>ttl</c>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for the processes to end.</param>
    /// <returns>A task that completes when both are gone.</returns>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        var victims = new List<(int Pid, long? StartTime)>();
        if (_process is { HasExited: false } daemon)
        {
            victims.AddRange(ProcessInfo.KillWithChildren(daemon.Id));
        }

        // Read after the daemon is gone: it may have restarted the server a moment before.
        if (FindRunningPostmaster() is { } postmaster)
        {
            victims.AddRange(ProcessInfo.KillWithChildren(postmaster));
        }

        // Gone means no process with that PID and start time (the PID may be reused at once) but a zombie.
        await ProcessInfo.WaitUntilDeadAsync(victims, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="sql"/> on this node's server.</summary>
    /// <param name="sql">The statements.</param>
    /// <param name="cancellationToken">Cancels them.</param>
    /// <returns>A task that completes when they ran.</returns>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken = default) =>
        await ExecuteScalarAsync<object?>(sql, cancellationToken).ConfigureAwait(false);

    /// <summary>Runs <paramref name="sql"/> on this node's server and returns the first column of the first row.</summary>
    /// <typeparam name="T">The type of the value.</typeparam>
    /// <param name="sql">The statement.</param>
    /// <param name="cancellationToken">Cancels the statement.</param>
    /// <returns>The value.</returns>
    public async Task<T> ExecuteScalarAsync<T>(string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>The PID in postmaster.pid if it is, right now, the postmaster of this node's data directory.</summary>
    internal int? FindRunningPostmaster()
    {
        try
        {
            var firstLine = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && ProcessInfo.IsPostmasterOf(pid, DataDirectory) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Kills the daemon and the server (dispose); nothing is waited for beyond their exit.</summary>
    internal async Task StopAsync()
    {
        await KillAsync(CancellationToken.None).ConfigureAwait(false);
        _process?.Dispose();
        _process = null;
    }

    internal Task<string> ReadLogTailAsync(int maxChars, CancellationToken cancellationToken) =>
        _process?.ReadLogTailAsync(maxChars, cancellationToken) ?? Task.FromResult("(never started)");
}
