using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;
using RoutingData.Testing.Internal;

namespace RoutingData.Testing.Pgpool;

/// <summary>
/// pgpool-II in streaming-replication mode with load balancing, on a loopback port in front of a
/// <see cref="PostgresCluster"/>: the read/write-splitting proxy RoutingData is compared with. Needs the
/// <c>pgpool</c> binary (Debian: <c>apt-get install -y pgpool2</c>).
/// </summary>
public sealed class PgpoolServer : IAsyncDisposable
{
    private static readonly string[] Candidates = ["/usr/sbin/pgpool", "/usr/bin/pgpool", "/usr/local/bin/pgpool"];

    private readonly Process _process;
    private readonly string _folder;
    private readonly PortReservation[] _ports;

    private PgpoolServer(Process process, string folder, int port, PortReservation[] ports)
    {
        _process = process;
        _folder = folder;
        _ports = ports;
        Port = port;
        ConnectionString = new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = port, Username = "postgres", Database = "postgres", Timeout = 5 }.ConnectionString;
    }

    /// <summary>Gets the port clients connect to.</summary>
    public int Port { get; }

    /// <summary>Gets an Npgsql connection string for the proxy.</summary>
    public string ConnectionString { get; }

    /// <summary>Where pgpool is looked for.</summary>
    public static string? FindBinary() => Candidates.FirstOrDefault(File.Exists);

    /// <summary>Starts pgpool-II in front of every node of <paramref name="cluster"/> (the current primary first).</summary>
    /// <param name="cluster">The cluster.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running proxy.</returns>
    /// <exception cref="ClusterHarnessException">pgpool is not installed or did not start, or the cluster uses passwords or TLS; the message says which.</exception>
    public static Task<PgpoolServer> StartAsync(PostgresCluster cluster, CancellationToken cancellationToken = default) => StartAsync(cluster, null, cancellationToken);

    /// <summary>Starts pgpool-II in front of every node of <paramref name="cluster"/> (the current primary first).</summary>
    /// <param name="cluster">The cluster.</param>
    /// <param name="options">How to configure it; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running proxy.</returns>
    /// <exception cref="ClusterHarnessException">pgpool is not installed or did not start, or the cluster uses passwords or TLS; the message says which.</exception>
    public static async Task<PgpoolServer> StartAsync(PostgresCluster cluster, PgpoolOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        options ??= new PgpoolOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxClients, 1, nameof(options));
        if (cluster.Authentication != ClusterAuthentication.Trust || cluster.UsesTls)
        {
            throw new ClusterHarnessException("PgpoolServer supports clusters with trust authentication and without TLS only (it would need pool_passwd and TLS to the backends).");
        }

        var binary = FindBinary() ?? throw new ClusterHarnessException("pgpool-II is not installed (Debian/Ubuntu: apt-get install -y pgpool2).");
        var folder = Path.Combine(cluster.Directory, "pgpool");
        Directory.CreateDirectory(folder);
        PortReservation[] ports = [FreePorts.Reserve(), FreePorts.Reserve()];
        var port = ports[0].Port;
        var nodes = new List<PostgresNode> { cluster.Primary };
        nodes.AddRange(cluster.Replicas);

        var config = new StringBuilder()
            .AppendLine("backend_clustering_mode = 'streaming_replication'")
            .AppendLine("listen_addresses = '127.0.0.1'")
            .AppendLine(CultureInfo.InvariantCulture, $"port = {port}")
            .AppendLine(CultureInfo.InvariantCulture, $"unix_socket_directories = '{folder}'")
            .AppendLine("pcp_listen_addresses = ''")
            .AppendLine(CultureInfo.InvariantCulture, $"pcp_port = {ports[1].Port}")
            .AppendLine(CultureInfo.InvariantCulture, $"pcp_socket_dir = '{folder}'")
            .AppendLine(CultureInfo.InvariantCulture, $"pid_file_name = '{folder}/pgpool.pid'")
            .AppendLine(CultureInfo.InvariantCulture, $"logdir = '{folder}'")
            .AppendLine("load_balance_mode = on")
            .AppendLine("sr_check_period = 0")
            .AppendLine("sr_check_user = 'postgres'")
            .AppendLine(options.FollowFailover ? "health_check_period = 1" : "health_check_period = 0")
            .AppendLine("health_check_user = 'postgres'")
            .AppendLine("health_check_max_retries = 0")
            .AppendLine("health_check_timeout = 2")
            .AppendLine(options.FollowFailover ? "failover_on_backend_error = on" : "failover_on_backend_error = off")
            .AppendLine("search_primary_node_timeout = 0")
            .AppendLine("enable_pool_hba = off")
            .AppendLine(CultureInfo.InvariantCulture, $"num_init_children = {options.MaxClients}")
            .AppendLine("max_pool = 2")
            .AppendLine("child_life_time = 0");
        for (var i = 0; i < nodes.Count; i++)
        {
            config.AppendLine(CultureInfo.InvariantCulture, $"backend_hostname{i} = '{nodes[i].Address}'")
                .AppendLine(CultureInfo.InvariantCulture, $"backend_port{i} = {nodes[i].Port}")
                .AppendLine(CultureInfo.InvariantCulture, $"backend_weight{i} = 1")
                .AppendLine(CultureInfo.InvariantCulture, $"backend_flag{i} = '{(i == 0 && !options.FollowFailover ? "ALWAYS_PRIMARY" : "ALLOW_TO_FAILOVER")}'");
        }

        var configFile = Path.Combine(folder, "pgpool.conf");
        await File.WriteAllTextAsync(configFile, config.ToString(), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(folder, "pcp.conf"), string.Empty, cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(folder, "pool_hba.conf"), "host all all 127.0.0.1/32 trust\n", cancellationToken).ConfigureAwait(false);

        var startInfo = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-n", "-f", configFile, "-F", Path.Combine(folder, "pcp.conf"), "-a", Path.Combine(folder, "pool_hba.conf") })
        {
            startInfo.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new ClusterHarnessException("pgpool did not start.");
        }
        catch
        {
            Array.ForEach(ports, p => p.Dispose());
            throw;
        }

        var log = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var server = new PgpoolServer(process, folder, port, ports);
        try
        {
            await PostgresCluster.WaitUntilAsync(
                async ct =>
                {
                    if (process.HasExited)
                    {
                        throw new ClusterHarnessException($"pgpool exited with code {process.ExitCode}: {Tail(log)}");
                    }

                    await using var connection = new NpgsqlConnection(server.ConnectionString);
                    await connection.OpenAsync(ct).ConfigureAwait(false);
                    return true;
                },
                TimeSpan.FromSeconds(30),
                $"pgpool on port {port} to accept connections",
                cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops pgpool.</summary>
    /// <returns>A task that completes when it has exited.</returns>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // pgpool forks children into its process group; kill the whole tree.
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
        foreach (var port in _ports)
        {
            port.Dispose();
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // Removed with the cluster folder.
        }
    }

    private static string Tail(StringBuilder log)
    {
        lock (log)
        {
            var text = log.ToString();
            return text.Length <= 2000 ? text : text[^2000..];
        }
    }
}
