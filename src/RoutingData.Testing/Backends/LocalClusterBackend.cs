using RoutingData.Testing.Internal;

namespace RoutingData.Testing.Backends;

/// <summary>Nodes in a folder of their own under the cluster root, run by the local server binaries.</summary>
internal sealed class LocalClusterBackend : ClusterBackend
{
    internal const string RootEnvironmentVariable = "ROUTINGDATA_CLUSTER_ROOT";

    private static readonly object JanitorLock = new();
    private static readonly HashSet<string> CleanedRoots = new(StringComparer.Ordinal);

    private readonly string _binDirectory;
    private readonly List<LocalNodeHost> _nodes = [];
    private readonly List<PortReservation> _ports = [];

    private LocalClusterBackend(string directory, string binDirectory)
    {
        Directory = directory;
        _binDirectory = binDirectory;
    }

    public override string Description => $"local binaries from {_binDirectory}, data in {Directory}";

    public override string Directory { get; }

    public static string DefaultRoot =>
        Environment.GetEnvironmentVariable(RootEnvironmentVariable) is { Length: > 0 } root
            ? root
            : Path.Combine(Path.GetTempPath(), "routingdata-clusters");

    public static async Task<LocalClusterBackend> CreateAsync(PostgresClusterOptions options, CancellationToken cancellationToken)
    {
        var binDirectory = options.BinDirectory is { Length: > 0 } explicitBin
            ? await PostgresBinaries.LocateAsync(explicitBin, null, "pg_config", "/nonexistent", cancellationToken).ConfigureAwait(false)
            : await PostgresBinaries.GetDefaultAsync().ConfigureAwait(false);

        var directory = await CreateClusterFolderAsync(options.RootDirectory ?? DefaultRoot, cancellationToken).ConfigureAwait(false);
        return new LocalClusterBackend(directory, binDirectory);
    }

    /// <summary>
    /// Creates a cluster's own folder under <paramref name="root"/> (cleaning the root of dead runs first, once per
    /// process), with the owner file the janitor reads, given to the server user when running as root.
    /// </summary>
    internal static async Task<string> CreateClusterFolderAsync(string root, CancellationToken cancellationToken)
    {
        EnsureRoot(root);
        CleanOnce(root);

        var name = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{StaleClusterJanitor.ClusterFolderPrefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        var directory = Path.Combine(root, name);
        System.IO.Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, StaleClusterJanitor.OwnerFileName), StaleClusterJanitor.DescribeCurrentProcess(), cancellationToken).ConfigureAwait(false);
        if (ServerUser.RunAsServerUser && !OperatingSystem.IsWindows())
        {
            // The server user creates its node folders in here; root keeps the owner file.
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            await ServerUser.ChownAsync(directory, cancellationToken).ConfigureAwait(false);
        }

        return directory;
    }

    public override async Task<NodeHost> CreateNodeAsync(string name, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(Directory, name);
        System.IO.Directory.CreateDirectory(folder);
        await ServerUser.ChownAsync(folder, cancellationToken).ConfigureAwait(false);
        var port = FreePorts.Reserve();
        var node = new LocalNodeHost(name, folder, _binDirectory, port.Port);
        lock (_nodes)
        {
            _ports.Add(port);
            _nodes.Add(node);
        }

        return node;
    }

    public override async Task StopAllAsync(CancellationToken cancellationToken)
    {
        // An immediate shutdown also removes the server's shared memory; kill -9 is the fallback.
        await Task.WhenAll(Snapshot().Select(async node =>
        {
            // No pg_ctl for a stale postmaster.pid: pg_ctl would signal whatever process has that PID now.
            if (node.FindRunningPostmaster() is null)
            {
                return;
            }

            try
            {
                await node.RunToolAsync("pg_ctl", ["stop", "-D", node.DataDirectory, "-m", "immediate", "-w", "-t", "10"], TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Fall through to the kill below.
            }

            await node.KillServerAsync(cancellationToken).ConfigureAwait(false);
        })).ConfigureAwait(false);
        StaleClusterJanitor.KillServers(Directory);
    }

    /// <summary>Synchronous last resort for process exit: kill every server of the cluster and delete its folder.</summary>
    public void KillAndDeleteNow()
    {
        StaleClusterJanitor.KillServers(Directory);
        TryDeleteDirectory();
    }

    public override async Task PreserveLogsAsync(string folder, CancellationToken cancellationToken)
    {
        foreach (var node in Snapshot())
        {
            await node.CopyLogToAsync(folder, cancellationToken).ConfigureAwait(false);
        }
    }

    public override ValueTask DisposeAsync()
    {
        TryDeleteDirectory();
        lock (_nodes)
        {
            // The servers are gone: other processes may have the ports now (this one never takes them again).
            foreach (var port in _ports)
            {
                port.Dispose();
            }

            _ports.Clear();
        }

        return ValueTask.CompletedTask;
    }

    private List<LocalNodeHost> Snapshot()
    {
        lock (_nodes)
        {
            return [.. _nodes];
        }
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

    /// <summary>Creates the shared root (mode 1777 when the servers run as another user), if it is not there.</summary>
    internal static void EnsureRoot(string root)
    {
        if (System.IO.Directory.Exists(root))
        {
            return;
        }

        System.IO.Directory.CreateDirectory(root);
        if (ServerUser.RunAsServerUser && !OperatingSystem.IsWindows())
        {
            // Like /tmp: everyone may create cluster folders in the shared root.
            File.SetUnixFileMode(root, (UnixFileMode)0x3FF /* 0777 */ | UnixFileMode.StickyBit);
        }
    }

    private static void CleanOnce(string root)
    {
        lock (JanitorLock)
        {
            if (CleanedRoots.Add(root))
            {
                StaleClusterJanitor.Clean(root);
            }
        }
    }
}
