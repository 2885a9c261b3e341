using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;
using RoutingData.Testing.Backends;
using RoutingData.Testing.Faults;
using RoutingData.Testing.Internal;

namespace RoutingData.Testing;

/// <summary>
/// A real PostgreSQL streaming-replication cluster for tests: one primary and N hot standbys created with
/// <c>pg_basebackup -R -X stream</c>, on free loopback ports, in a folder of its own. It offers the faults
/// a routing driver must survive and removes everything on dispose (and at process exit); a run that was
/// killed half-way is cleaned up by the next one.
/// </summary>
/// <example>
/// <code>
/// await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 2 });
/// await cluster.Primary.ExecuteAsync("CREATE TABLE t (id int)");
/// await cluster.WaitForReplicasAsync();
/// </code>
/// </example>
public sealed class PostgresCluster : IAsyncDisposable
{
    private readonly ClusterBackend _backend;
    private readonly List<PostgresNode> _nodes = [];
    private readonly List<TcpFaultProxy> _proxies = [];
    private readonly List<(PostgresNode Standby, PostgresNode Node, int Pid)> _stalledSenders = [];
    private PostgresNode? _primary;
    private ClusterCertificates? _certificates;
    private int _disposed;
    private volatile bool _preserveLogs;

    private PostgresCluster(ClusterBackend backend, PostgresClusterOptions options)
    {
        _backend = backend;
        Options = options;
        if (options.Authentication == ClusterAuthentication.ScramSha256)
        {
            Password = ClusterSecrets.NewPassword();
            ReplicationUsername = ReplicationRoleName;
            ReplicationPassword = ClusterSecrets.NewPassword();
        }
        else
        {
            ReplicationUsername = SuperuserName;
        }
    }

    /// <summary>Gets every node, in creation order (<c>pg0</c> first).</summary>
    public IReadOnlyList<PostgresNode> Nodes => _nodes;

    /// <summary>Gets the node the harness last made primary: the initial one, or the last promoted standby.</summary>
    public PostgresNode Primary => _primary ?? throw new InvalidOperationException("The cluster has no primary yet.");

    /// <summary>Gets the nodes whose harness-given role is <see cref="NodeRole.Standby"/>.</summary>
    public IReadOnlyList<PostgresNode> Replicas => _nodes.Where(n => n.Role == NodeRole.Standby).ToList();

    /// <summary>
    /// Gets a multi-host Npgsql connection string naming every node (<c>Host=127.0.0.1:p0,127.0.0.1:p1,…</c>), as
    /// <see cref="Username"/> on database <c>postgres</c>. With <see cref="ClusterAuthentication.ScramSha256"/> it
    /// carries <see cref="Password"/>; with <see cref="PostgresClusterOptions.UseTls"/>, <c>SSL Mode=VerifyFull</c>
    /// and <c>Root Certificate=</c><see cref="CertificateAuthorityFile"/>.
    /// </summary>
    public string ConnectionString
    {
        get
        {
            var builder = new NpgsqlConnectionStringBuilder
            {
                Host = string.Join(',', _nodes.Select(n => string.Create(CultureInfo.InvariantCulture, $"{n.Address}:{n.Port}"))),
                Username = SuperuserName,
                Database = "postgres",
                Timeout = 5,
            };
            ApplyClientSecurity(builder);
            return builder.ConnectionString;
        }
    }

    /// <summary>Gets the superuser clients connect as: <c>postgres</c>.</summary>
    public string Username { get; } = SuperuserName;

    /// <summary>
    /// Gets the superuser's generated password (32 random letters and digits) with
    /// <see cref="ClusterAuthentication.ScramSha256"/>; null with <see cref="ClusterAuthentication.Trust"/>.
    /// </summary>
    public string? Password { get; }

    /// <summary>
    /// Gets the role standbys replicate as: <c>replicator</c> (LOGIN REPLICATION, not a superuser) with
    /// <see cref="ClusterAuthentication.ScramSha256"/>, <c>postgres</c> with <see cref="ClusterAuthentication.Trust"/>.
    /// </summary>
    public string ReplicationUsername { get; }

    /// <summary>Gets the replication role's generated password with <see cref="ClusterAuthentication.ScramSha256"/>; null otherwise.</summary>
    public string? ReplicationPassword { get; }

    /// <summary>Gets how clients and standbys authenticate (<see cref="PostgresClusterOptions.Authentication"/>).</summary>
    public ClusterAuthentication Authentication => Options.Authentication;

    /// <summary>Gets a value indicating whether the servers require TLS (<see cref="PostgresClusterOptions.UseTls"/>).</summary>
    public bool UsesTls => Options.UseTls;

    /// <summary>
    /// Gets the PEM file, in <see cref="Directory"/>, of the certificate authority that signed every node's server
    /// certificate, for clients that verify the server (<c>SSL Mode=VerifyFull;Root Certificate=…</c> in Npgsql,
    /// <c>sslmode=verify-full sslrootcert=…</c> in libpq); null without TLS. The CA's private key is not kept.
    /// </summary>
    public string? CertificateAuthorityFile { get; private set; }

    /// <summary>Gets the folder on this machine that belongs to the cluster.</summary>
    public string Directory => _backend.Directory;

    /// <summary>Gets a description of where the servers run, for messages.</summary>
    public string BackendDescription => _backend.Description;

    /// <summary>Gets how long <see cref="StartAsync(PostgresClusterOptions?, CancellationToken)"/> took, until every replica was streaming.</summary>
    public TimeSpan StartupDuration { get; private set; }

    /// <summary>Gets the folder the server logs were copied to on dispose, when <see cref="PreserveLogs"/> was called.</summary>
    public string? PreservedLogsDirectory { get; private set; }

    internal PostgresClusterOptions Options { get; }

    internal const string SuperuserName = "postgres";

    internal const string ReplicationRoleName = "replicator";

    private string PreservedLogsFolder =>
        Path.Combine(Options.RootDirectory ?? LocalClusterBackend.DefaultRoot, StaleClusterJanitor.PreservedLogsFolder, Path.GetFileName(_backend.Directory));

    /// <summary>Starts a cluster with the default options: a primary and two replicas from the local binaries.</summary>
    /// <param name="cancellationToken">Cancels the start; whatever was started is removed.</param>
    /// <returns>The running cluster, every replica streaming.</returns>
    public static Task<PostgresCluster> StartAsync(CancellationToken cancellationToken) => StartAsync(null, cancellationToken);

    /// <summary>Starts a cluster and waits until every replica streams from the primary.</summary>
    /// <param name="options">What to start; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the start; whatever was started is removed.</param>
    /// <returns>The running cluster, every replica streaming.</returns>
    /// <exception cref="ArgumentException">The options are invalid; the message names each problem.</exception>
    /// <exception cref="PostgresBinariesNotFoundException">The local backend found no server binaries.</exception>
    /// <exception cref="ClusterHarnessException">A server tool failed or a node did not become ready; server logs are preserved and named.</exception>
    public static async Task<PostgresCluster> StartAsync(PostgresClusterOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new PostgresClusterOptions();
        options.Validate();
        var stopwatch = Stopwatch.StartNew();

        ClusterBackend backend = options.Backend == ClusterBackendKind.Local
            ? await LocalClusterBackend.CreateAsync(options, cancellationToken).ConfigureAwait(false)
            : await ContainerClusterBackend.CreateAsync(options, cancellationToken).ConfigureAwait(false);

        var cluster = new PostgresCluster(backend, options);
        ExitCleanup.Add(cluster, cluster.KillAndDeleteAtExit);
        try
        {
            await cluster.CreateCertificatesAsync(cancellationToken).ConfigureAwait(false);
            await cluster.CreatePrimaryAsync(cancellationToken).ConfigureAwait(false);
            var replicas = new Task<PostgresNode>[options.Replicas];
            for (var i = 0; i < replicas.Length; i++)
            {
                replicas[i] = cluster.CreateReplicaAsync(NodeName(i + 1), cancellationToken);
            }

            foreach (var replica in await Task.WhenAll(replicas).ConfigureAwait(false))
            {
                cluster._nodes.Add(replica);
            }

            await cluster.WaitForStreamingAsync(options.Replicas, options.StartTimeout, cancellationToken).ConfigureAwait(false);
            cluster.StartupDuration = stopwatch.Elapsed;
            return cluster;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _ = cluster.PreserveLogs();
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw new ClusterHarnessException(
                $"Starting the cluster ({backend.Description}) failed: {e.Message} Server logs: {cluster.PreservedLogsDirectory}", e);
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Keeps the server logs when the cluster is disposed: they are copied to a folder under the cluster
    /// root (named in <see cref="PreservedLogsDirectory"/> and printed to standard error). Test fixtures call
    /// this when a test fails.
    /// </summary>
    /// <returns>The folder the logs will be copied to.</returns>
    public string PreserveLogs()
    {
        _preserveLogs = true;
        return PreservedLogsFolder;
    }

    /// <summary>Promotes a standby (<c>pg_ctl promote</c>) and waits until it accepts writes on its new timeline.</summary>
    /// <param name="standby">The standby to promote.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task PromoteAsync(PostgresNode standby, CancellationToken cancellationToken = default)
    {
        EnsureMember(standby);

        // pg_ctl signals the PID in postmaster.pid: never a stale one.
        await standby.NodeHost.DiscardStalePidFileAsync(cancellationToken).ConfigureAwait(false);
        await RunCheckedAsync(standby.NodeHost, "pg_ctl", ["promote", "-D", standby.NodeHost.DataDirectory, "-w", "-t", "60"], TimeSpan.FromSeconds(65), cancellationToken).ConfigureAwait(false);
        await WaitUntilAsync(
            async ct => !await standby.IsInRecoveryAsync(ct).ConfigureAwait(false),
            TimeSpan.FromSeconds(30),
            $"{standby.Name} to leave recovery after promotion",
            cancellationToken).ConfigureAwait(false);
        standby.Role = NodeRole.Primary;
        _primary = standby;
    }

    /// <summary>
    /// Re-points a running standby at another primary (<c>primary_conninfo</c> changed at run time) and waits
    /// until it streams from it.
    /// </summary>
    /// <param name="standby">The standby to re-point.</param>
    /// <param name="newPrimary">The primary it should follow, usually a promoted standby.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task RepointAsync(PostgresNode standby, PostgresNode newPrimary, CancellationToken cancellationToken = default)
    {
        EnsureMember(standby);
        EnsureMember(newPrimary);
        await standby.ExecuteAsync($"ALTER SYSTEM SET primary_conninfo = '{Escape(PrimaryConnInfo(newPrimary, standby))}'", cancellationToken).ConfigureAwait(false);
        await standby.ExecuteAsync("SELECT pg_reload_conf()", cancellationToken).ConfigureAwait(false);
        await WaitForStreamingFromAsync(newPrimary, standby, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Brings a former primary back as a standby of <paramref name="primary"/>: stops it if it runs, rewinds its
    /// diverged WAL with <c>pg_rewind</c>, configures it as a standby, starts it and waits until it streams.
    /// </summary>
    /// <param name="node">The former primary (or any node that diverged).</param>
    /// <param name="primary">The primary it should follow.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    public async Task RejoinAsStandbyAsync(PostgresNode node, PostgresNode primary, CancellationToken cancellationToken = default)
    {
        EnsureMember(node);
        EnsureMember(primary);
        if (node.IsRunning)
        {
            await node.StopAsync(ShutdownMode.Fast, cancellationToken).ConfigureAwait(false);
        }

        // PostgreSQL 15's pg_rewind takes the source's timeline from its pg_control, which a promoted server updates
        // only at its first checkpoint after promotion — a spread one that may take seconds. Before it, pg_rewind sees
        // one timeline, says "no rewind required" and the node cannot follow. A checkpoint now settles it.
        await primary.ExecuteAsync("CHECKPOINT", cancellationToken).ConfigureAwait(false);

        // pg_rewind reads the source's files through functions only a superuser may call by default.
        var source = ConnInfo(primary.NodeHost, node.NodeHost, SuperuserName, applicationName: null, database: "postgres");
        await RunCheckedAsync(node.NodeHost, "pg_rewind", ["--target-pgdata", node.NodeHost.DataDirectory, "--source-server", source, "--no-sync"], TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);

        // pg_rewind copied the primary's configuration files: give the node its own back, as a standby.
        await WriteNodeConfigAsync(node.NodeHost, synchronousStandbys: 0, cancellationToken).ConfigureAwait(false);
        await node.NodeHost.WriteDataFileAsync("postgresql.auto.conf", $"primary_conninfo = '{Escape(PrimaryConnInfo(primary, node))}'\n", append: false, cancellationToken).ConfigureAwait(false);
        await node.NodeHost.WriteDataFileAsync("standby.signal", string.Empty, append: false, cancellationToken).ConfigureAwait(false);
        node.Role = NodeRole.Standby;
        await node.StartAsync(cancellationToken).ConfigureAwait(false);
        await WaitForStreamingFromAsync(primary, node, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a stopped former primary as a primary again, without <c>standby.signal</c>: after a promotion
    /// elsewhere, the cluster then has two writable nodes on different timelines (a split brain).
    /// </summary>
    /// <param name="oldPrimary">A stopped node that was a primary.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public async Task StartAsSplitBrainPrimaryAsync(PostgresNode oldPrimary, CancellationToken cancellationToken = default)
    {
        EnsureMember(oldPrimary);
        if (oldPrimary.IsRunning)
        {
            throw new ClusterHarnessException($"{oldPrimary.Name} is running; stop or kill it before starting it as a split-brain primary.");
        }

        await oldPrimary.NodeHost.DeleteDataFileAsync("standby.signal", cancellationToken).ConfigureAwait(false);
        oldPrimary.Role = NodeRole.Primary;
        await oldPrimary.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts an in-process TCP proxy in front of <paramref name="node"/>; connect to its <see cref="TcpFaultProxy.Port"/>
    /// and switch its <see cref="TcpFaultProxy.Mode"/> to cut or slow the traffic. It is disposed with the cluster.
    /// </summary>
    /// <param name="node">The node to put the proxy in front of.</param>
    /// <returns>The running proxy, in <see cref="ProxyMode.Pass"/> mode.</returns>
    public TcpFaultProxy CreateProxy(PostgresNode node)
    {
        EnsureMember(node);
        var proxy = TcpFaultProxy.Start(node.Address, node.Port);
        lock (_proxies)
        {
            _proxies.Add(proxy);
        }

        return proxy;
    }

    /// <summary>
    /// Stalls the WAL stream to <paramref name="standby"/> while its connection stays up: the primary's walsender for it
    /// is stopped (SIGSTOP). The standby keeps its receiver, reports no error and simply stops getting WAL — the silent
    /// kind of lag. Resume with <see cref="ResumeWalStreamAsync"/>; disposing the cluster resumes it too.
    /// </summary>
    /// <param name="standby">A streaming standby.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    public async Task StallWalStreamAsync(PostgresNode standby, CancellationToken cancellationToken = default)
    {
        EnsureMember(standby);
        var upstream = _nodes.FirstOrDefault(n => n.Role == NodeRole.Primary && n.IsRunning)
            ?? throw new ClusterHarnessException("No running primary to stall a WAL stream from.");
        var pid = await upstream.ExecuteScalarAsync<int?>(
            $"SELECT (SELECT pid FROM pg_stat_replication WHERE application_name = '{standby.Name}' LIMIT 1)",
            cancellationToken).ConfigureAwait(false)
            ?? throw new ClusterHarnessException($"{standby.Name} is not streaming from {upstream.Name}.");
        await upstream.NodeHost.SignalProcessAsync(pid, "STOP", cancellationToken).ConfigureAwait(false);
        lock (_stalledSenders)
        {
            _stalledSenders.Add((standby, upstream, pid));
        }
    }

    /// <summary>Resumes every WAL stream stalled by <see cref="StallWalStreamAsync"/> (to <paramref name="standby"/>, or all when null).</summary>
    /// <param name="standby">The standby whose stream to resume; null for all.</param>
    /// <param name="cancellationToken">Cancels the signals.</param>
    public async Task ResumeWalStreamAsync(PostgresNode? standby = null, CancellationToken cancellationToken = default)
    {
        List<(PostgresNode Standby, PostgresNode Node, int Pid)> stalled;
        lock (_stalledSenders)
        {
            stalled = _stalledSenders.Where(s => standby is null || s.Standby == standby).ToList();
            _stalledSenders.RemoveAll(stalled.Contains);
        }

        foreach (var (_, node, pid) in stalled)
        {
            try
            {
                await node.NodeHost.SignalProcessAsync(pid, "CONT", cancellationToken).ConfigureAwait(false);
            }
            catch (ClusterHarnessException)
            {
                // The process is gone (its server was stopped or killed): nothing to resume.
            }
        }
    }

    /// <summary>Waits until every running standby has replayed the primary's current WAL position.</summary>
    /// <param name="timeout">How long to wait; 30 seconds when null.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task WaitForReplicasAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var lsn = await Primary.GetLsnAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(Replicas.Where(r => r.IsRunning).Select(r => r.WaitForReplayAsync(lsn, timeout ?? TimeSpan.FromSeconds(30), cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>Stops every server, removes the cluster's folder and, if <see cref="PreserveLogs"/> was called, keeps the logs.</summary>
    /// <returns>A task that completes when everything is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        List<TcpFaultProxy> proxies;
        lock (_proxies)
        {
            proxies = [.. _proxies];
        }

        foreach (var proxy in proxies)
        {
            await proxy.DisposeAsync().ConfigureAwait(false);
        }

        // A stopped walsender would hold up the primary's shutdown.
        await ResumeWalStreamAsync(null, CancellationToken.None).ConfigureAwait(false);
        try
        {
            await _backend.StopAllAsync(CancellationToken.None).ConfigureAwait(false);
            if (_preserveLogs)
            {
                var folder = PreservedLogsFolder;
                System.IO.Directory.CreateDirectory(folder);
                await _backend.PreserveLogsAsync(folder, CancellationToken.None).ConfigureAwait(false);
                PreservedLogsDirectory = folder;
                await Console.Error.WriteLineAsync($"RoutingData.Testing: server logs of cluster {Path.GetFileName(_backend.Directory)} kept in {folder}").ConfigureAwait(false);
            }
        }
        finally
        {
            await _backend.DisposeAsync().ConfigureAwait(false);
            ExitCleanup.Remove(this);
        }
    }

    internal static string NodeName(int index) => string.Create(CultureInfo.InvariantCulture, $"pg{index}");

    internal static async Task WaitUntilAsync(Func<CancellationToken, Task<bool>> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        Exception? lastError = null;
        var delay = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                if (await condition(cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                lastError = null;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException or System.Net.Http.HttpRequestException)
            {
                lastError = e; // The server (or its REST API) may still be starting or switching over.
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException(
                    $"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}." + (lastError is null ? string.Empty : $" Last error: {lastError.Message}"),
                    lastError);
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 100));
        }
    }

    internal static async Task<CommandResult> RunCheckedAsync(NodeHost host, string tool, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        CommandResult result;
        try
        {
            result = await host.RunToolAsync(tool, arguments, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new ClusterHarnessException($"{tool} on {host.Name} timed out: {e.Message} Server log: {host.LogLocation}", e);
        }

        if (!result.Succeeded)
        {
            var log = await host.ReadLogTailAsync(1500, cancellationToken).ConfigureAwait(false);
            throw new ClusterHarnessException(
                $"{tool} {string.Join(' ', arguments)} failed on {host.Name}: {result.Describe()}. Server log ({host.LogLocation}), last lines:{Environment.NewLine}{log}");
        }

        return result;
    }

    private void KillAndDeleteAtExit()
    {
        if (_backend is LocalClusterBackend local && !_preserveLogs)
        {
            local.KillAndDeleteNow();
        }
    }

    private void EnsureMember(PostgresNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!_nodes.Contains(node))
        {
            throw new ArgumentException($"{node.Name} ({node.Address}:{node.Port}) is not a node of this cluster.", nameof(node));
        }
    }

    private static string Escape(string value) => value.Replace("'", "''", StringComparison.Ordinal);

    private string PrimaryConnInfo(PostgresNode primary, PostgresNode standby) =>
        ConnInfo(primary.NodeHost, standby.NodeHost, ReplicationUsername, standby.Name);

    /// <summary>
    /// A libpq connection string from <paramref name="toolHost"/> (where pg_basebackup, pg_rewind or the walreceiver
    /// runs) to <paramref name="server"/>. The password is never in it: libpq reads it from the tool host's .pgpass
    /// (<c>passfile=</c>), so it appears in no command line, no postgresql.auto.conf and no harness message.
    /// </summary>
    private string ConnInfo(NodeHost server, NodeHost toolHost, string user, string? applicationName, string? database = null)
    {
        var parts = new List<string>
        {
            ConnInfoPair("host", server.PeerHost),
            ConnInfoPair("port", server.PeerPort.ToString(CultureInfo.InvariantCulture)),
            ConnInfoPair("user", user),
        };
        if (database is not null)
        {
            parts.Add(ConnInfoPair("dbname", database));
        }

        if (Options.Authentication == ClusterAuthentication.ScramSha256)
        {
            parts.Add(ConnInfoPair("passfile", toolHost.NodeFilePath(ClusterSecrets.PassFileName)));
        }

        if (Options.UseTls)
        {
            parts.Add("sslmode=verify-full");
            parts.Add(ConnInfoPair("sslrootcert", toolHost.NodeFilePath(ClusterCertificates.CertificateAuthorityFileName)));
        }

        if (applicationName is not null)
        {
            parts.Add(ConnInfoPair("application_name", applicationName));
        }

        return string.Join(' ', parts);
    }

    private static string ConnInfoPair(string key, string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/' or ':')
            ? $"{key}={value}"
            : $"{key}='{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}'";

    /// <summary>The password, TLS mode and root certificate every client connection string of this cluster carries.</summary>
    internal void ApplyClientSecurity(NpgsqlConnectionStringBuilder builder)
    {
        if (Password is not null)
        {
            builder.Password = Password;
        }

        if (CertificateAuthorityFile is not null)
        {
            builder.SslMode = SslMode.VerifyFull;
            builder.RootCertificate = CertificateAuthorityFile;
        }
    }

    private async Task CreateCertificatesAsync(CancellationToken cancellationToken)
    {
        if (!Options.UseTls)
        {
            return;
        }

        _certificates = ClusterCertificates.Create(Enumerable.Range(0, Options.Replicas + 1).Select(NodeName));
        System.IO.Directory.CreateDirectory(_backend.Directory);
        var file = Path.Combine(_backend.Directory, ClusterCertificates.CertificateAuthorityFileName);
        await File.WriteAllTextAsync(file, _certificates.CertificateAuthorityPem, cancellationToken).ConfigureAwait(false);
        CertificateAuthorityFile = file;
    }

    /// <summary>What the server tools of a node need before they connect anywhere: the .pgpass file and the CA certificate.</summary>
    private async Task PrepareNodeHostAsync(NodeHost host, CancellationToken cancellationToken)
    {
        if (Password is not null && ReplicationPassword is not null)
        {
            await host.WriteNodeFileAsync(
                ClusterSecrets.PassFileName,
                ClusterSecrets.PassFileLine(ReplicationUsername, ReplicationPassword) + ClusterSecrets.PassFileLine(SuperuserName, Password),
                secret: true,
                cancellationToken).ConfigureAwait(false);
        }

        if (_certificates is not null)
        {
            await host.WriteNodeFileAsync(ClusterCertificates.CertificateAuthorityFileName, _certificates.CertificateAuthorityPem, secret: false, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CreatePrimaryAsync(CancellationToken cancellationToken)
    {
        var host = await _backend.CreateNodeAsync(NodeName(0), cancellationToken).ConfigureAwait(false);
        await PrepareNodeHostAsync(host, cancellationToken).ConfigureAwait(false);
        List<string> initdb = ["-D", host.DataDirectory, "-U", SuperuserName, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"];
        if (Password is null)
        {
            initdb.AddRange(["-A", "trust"]);
            await RunCheckedAsync(host, "initdb", initdb, TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // initdb stores the superuser's SCRAM verifier (password_encryption defaults to scram-sha-256); the
            // password travels in a 0600 file, not on a command line, and the file is gone right after.
            await host.WriteNodeFileAsync(ClusterSecrets.InitdbPasswordFileName, Password + "\n", secret: true, cancellationToken).ConfigureAwait(false);
            initdb.AddRange(["-A", "scram-sha-256", "--pwfile", host.NodeFilePath(ClusterSecrets.InitdbPasswordFileName)]);
            try
            {
                await RunCheckedAsync(host, "initdb", initdb, TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await host.DeleteNodeFileAsync(ClusterSecrets.InitdbPasswordFileName, CancellationToken.None).ConfigureAwait(false);
            }
        }

        await host.WriteDataFileAsync("postgresql.conf", BuildServerConfig(), append: true, cancellationToken).ConfigureAwait(false);
        await host.WriteDataFileAsync("pg_hba.conf", BuildHbaConfig(), append: false, cancellationToken).ConfigureAwait(false);
        if (_certificates is not null)
        {
            // In the data directory, so base backups and pg_rewind carry them to every node.
            await host.WriteDataFileAsync(ClusterCertificates.ServerCertificateFileName, _certificates.ServerCertificatePem, append: false, cancellationToken).ConfigureAwait(false);
            await host.WriteSecretDataFileAsync(ClusterCertificates.ServerKeyFileName, _certificates.ServerKeyPem, cancellationToken).ConfigureAwait(false);
        }

        await WriteNodeConfigAsync(host, Options.SynchronousReplicas, cancellationToken).ConfigureAwait(false);

        var primary = new PostgresNode(this, host, NodeRole.Primary);
        _nodes.Add(primary);
        _primary = primary;
        await primary.StartAsync(cancellationToken).ConfigureAwait(false);

        if (ReplicationPassword is not null)
        {
            // Only the SCRAM verifier goes to the server, never the password.
            await primary.ExecuteAsync(
                $"CREATE ROLE {ReplicationRoleName} WITH LOGIN REPLICATION PASSWORD '{ClusterSecrets.ScramVerifier(ReplicationPassword)}'",
                cancellationToken).ConfigureAwait(false);
        }
    }

    private string BuildHbaConfig()
    {
        // The whole file: nothing of initdb's defaults stays. With TLS only hostssl lines, so a connection without
        // TLS matches no line and is refused.
        var type = Options.UseTls ? "hostssl" : "host";
        var method = Options.Authentication == ClusterAuthentication.ScramSha256 ? "scram-sha-256" : "trust";
        var hba = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"# RoutingData.Testing: {method}{(Options.UseTls ? " over TLS" : string.Empty)} for everything that can reach the listen address (loopback or the container network).\n");
        foreach (var database in new[] { "all", "replication" })
        {
            foreach (var network in new[] { "0.0.0.0/0", "::/0" })
            {
                hba.Append(CultureInfo.InvariantCulture, $"{type} {database} all {network} {method}\n");
            }
        }

        return hba.ToString();
    }

    private async Task<PostgresNode> CreateReplicaAsync(string name, CancellationToken cancellationToken)
    {
        var primary = Primary;
        var host = await _backend.CreateNodeAsync(name, cancellationToken).ConfigureAwait(false);
        await PrepareNodeHostAsync(host, cancellationToken).ConfigureAwait(false);
        var source = ConnInfo(primary.NodeHost, host, ReplicationUsername, name);
        await RunCheckedAsync(
            host,
            "pg_basebackup",
            ["-d", source, "-D", host.DataDirectory, "-X", "stream", "-c", "fast", "--no-sync"],
            TimeSpan.FromMinutes(2),
            cancellationToken).ConfigureAwait(false);

        // What -R would write, but exactly the conninfo RepointAsync and RejoinAsStandbyAsync write too (-R adds every
        // libpq default it resolved, sslmode=prefer among them).
        await host.WriteDataFileAsync("postgresql.auto.conf", $"primary_conninfo = '{Escape(source)}'\n", append: true, cancellationToken).ConfigureAwait(false);
        await host.WriteDataFileAsync("standby.signal", string.Empty, append: false, cancellationToken).ConfigureAwait(false);
        await WriteNodeConfigAsync(host, synchronousStandbys: 0, cancellationToken).ConfigureAwait(false);

        var replica = new PostgresNode(this, host, NodeRole.Standby);
        await replica.StartAsync(cancellationToken).ConfigureAwait(false);
        return replica;
    }

    private static Task WriteNodeConfigAsync(NodeHost host, int synchronousStandbys, CancellationToken cancellationToken)
    {
        var config = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"port = {host.ListenPort}\n")
            .Append(CultureInfo.InvariantCulture, $"listen_addresses = '{host.ListenAddresses}'\n");
        if (synchronousStandbys > 0)
        {
            var names = Enumerable.Range(1, synchronousStandbys).Select(NodeName);
            config.Append(CultureInfo.InvariantCulture, $"synchronous_standby_names = 'FIRST {synchronousStandbys} ({string.Join(", ", names)})'\n");
        }

        return host.WriteDataFileAsync("node.conf", config.ToString(), append: false, cancellationToken);
    }

    private string BuildServerConfig()
    {
        // Test-friendly defaults: no fsync, quick reconnects, enough senders and kept WAL for
        // re-pointing and pg_rewind (which needs wal_log_hints). Users override any of them.
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["unix_socket_directories"] = string.Empty,
            ["fsync"] = "off",
            ["wal_level"] = "replica",
            ["wal_log_hints"] = "on",
            ["max_wal_senders"] = "20",
            ["max_replication_slots"] = "20",
            ["wal_keep_size"] = "256MB",
            ["hot_standby"] = "on",
            ["wal_receiver_status_interval"] = "1s",
            ["wal_retrieve_retry_interval"] = "200ms",
            ["shared_buffers"] = "32MB",
            ["max_connections"] = "200",
            ["log_line_prefix"] = "%m [%p] %q%a ",
            ["log_connections"] = "off",
        };
        if (Options.Authentication == ClusterAuthentication.ScramSha256)
        {
            settings["password_encryption"] = "scram-sha-256";
        }

        if (Options.UseTls)
        {
            settings["ssl"] = "on";
            settings["ssl_cert_file"] = ClusterCertificates.ServerCertificateFileName;
            settings["ssl_key_file"] = ClusterCertificates.ServerKeyFileName;
        }

        foreach (var (name, value) in Options.ServerSettings)
        {
            settings[name] = value;
        }

        var config = new StringBuilder("\n# RoutingData.Testing settings\n");
        foreach (var (name, value) in settings)
        {
            config.Append(CultureInfo.InvariantCulture, $"{name} = '{Escape(value)}'\n");
        }

        // Per-node settings (port, listen address, synchronous standbys) live in node.conf, rewritten for each node.
        return config.Append("include_if_exists = 'node.conf'\n").ToString();
    }

    private async Task WaitForStreamingAsync(int replicas, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (replicas == 0)
        {
            return;
        }

        await WaitUntilAsync(
            async ct => await Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", ct).ConfigureAwait(false) >= replicas,
            timeout,
            FormattableString.Invariant($"{replicas} replica(s) to stream from {Primary.Name}"),
            cancellationToken).ConfigureAwait(false);

        // A synchronous standby is reported 'async' for a moment after it starts streaming; ready means sync.
        var synchronous = Options.SynchronousReplicas;
        if (synchronous > 0)
        {
            await WaitUntilAsync(
                async ct => await Primary.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')", ct).ConfigureAwait(false) >= synchronous,
                timeout,
                FormattableString.Invariant($"{synchronous} synchronous standby(s) to be reported sync by {Primary.Name}"),
                cancellationToken).ConfigureAwait(false);
        }
    }

    private Task WaitForStreamingFromAsync(PostgresNode primary, PostgresNode standby, CancellationToken cancellationToken) =>
        WaitUntilAsync(
            async ct => await primary.ExecuteScalarAsync<long>(
                $"SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND application_name = '{standby.Name}'", ct).ConfigureAwait(false) == 1,
            Options.StartTimeout,
            $"{standby.Name} to stream from {primary.Name}",
            cancellationToken);
}
