using System.Globalization;
using RoutingData.Testing.Internal;

namespace RoutingData.Testing.Backends;

/// <summary>A node in a folder on this machine, served by the local PostgreSQL binaries on a loopback port.</summary>
internal sealed class LocalNodeHost : NodeHost
{
    private const string PidFileName = "postmaster.pid";

    private readonly string _binDirectory;
    private readonly string _nodeFolder;

    public LocalNodeHost(string name, string nodeFolder, string binDirectory, int port)
        : base(name)
    {
        _nodeFolder = nodeFolder;
        _binDirectory = binDirectory;
        ListenPort = port;
        DataDirectory = Path.Combine(nodeFolder, "data");
        LogFile = Path.Combine(nodeFolder, "postgres.log");
    }

    public override string DataDirectory { get; }

    public override string LogFile { get; }

    public override string LogLocation => LogFile;

    public override string ClientHost => "127.0.0.1";

    public override int ClientPort => ListenPort;

    public override string PeerHost => ClientHost;

    public override int PeerPort => ListenPort;

    public override int ListenPort { get; }

    public override string ListenAddresses => "127.0.0.1";

    public override Task<CommandResult> RunToolAsync(string tool, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (fileName, wrapped) = ServerUser.Wrap(Path.Combine(_binDirectory, tool), arguments);
        return ProcessRunner.RunAsync(fileName, wrapped, _nodeFolder, timeout, cancellationToken);
    }

    public override async Task SignalProcessAsync(int pid, string signal, CancellationToken cancellationToken)
    {
        // A PID read earlier (a walsender's, say) may belong to another process by now: signal only the node's
        // running postmaster or one of its children.
        if (FindRunningPostmaster() is not { } postmaster || (pid != postmaster && ProcessInfo.ParentId(pid) != postmaster))
        {
            throw new ClusterHarnessException(
                $"Not sending SIG{signal} to PID {pid}: it is not a server process of {Name} (whose postmaster is {(FindRunningPostmaster() is { } p ? p.ToString(CultureInfo.InvariantCulture) : "not running")}).");
        }

        var result = await ProcessRunner.RunAsync("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)], null, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new ClusterHarnessException($"kill -{signal} {pid} failed on {Name}: {result.StandardError.Trim()}");
        }
    }

    public override Task WriteDataFileAsync(string relativePath, string content, bool append, CancellationToken cancellationToken) =>
        WriteFileAsync(Path.Combine(DataDirectory, relativePath), content, append, secret: false, cancellationToken);

    public override Task WriteSecretDataFileAsync(string relativePath, string content, CancellationToken cancellationToken) =>
        WriteFileAsync(Path.Combine(DataDirectory, relativePath), content, append: false, secret: true, cancellationToken);

    public override string NodeFilePath(string fileName) => Path.Combine(_nodeFolder, fileName);

    public override Task WriteNodeFileAsync(string fileName, string content, bool secret, CancellationToken cancellationToken) =>
        WriteFileAsync(NodeFilePath(fileName), content, append: false, secret, cancellationToken);

    public override Task DeleteNodeFileAsync(string fileName, CancellationToken cancellationToken)
    {
        File.Delete(NodeFilePath(fileName));
        return Task.CompletedTask;
    }

    public override Task<bool> DiscardStalePidFileAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(DataDirectory, PidFileName);
        if (!File.Exists(path) || FindRunningPostmaster() is not null)
        {
            return Task.FromResult(false);
        }

        File.Delete(path);
        return Task.FromResult(true);
    }

    public override Task DeleteDataFileAsync(string relativePath, CancellationToken cancellationToken)
    {
        File.Delete(Path.Combine(DataDirectory, relativePath));
        return Task.CompletedTask;
    }

    public override Task RemoveDataDirectoryAsync(CancellationToken cancellationToken)
    {
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }

        return Task.CompletedTask;
    }

    public override async Task KillServerAsync(CancellationToken cancellationToken)
    {
        // A killed node leaves postmaster.pid behind, and its PID may have been given to another process since:
        // only a PID that is this data directory's postmaster right now is killed.
        if (FindRunningPostmaster() is not { } pid)
        {
            return;
        }

        // The postmaster and its children at once, as a crash of the machine would. Waiting for them to be reaped would
        // wait on this machine's init, which collects orphans late (seconds to minutes): dead is enough, and the
        // children must be dead too, or a restart finds the old shared memory still attached.
        var victims = ProcessInfo.KillWithChildren(pid);
        await ProcessInfo.WaitUntilDeadAsync(victims, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
    }

    public override async Task<string> ReadLogTailAsync(int maxChars, CancellationToken cancellationToken)
    {
        if (!File.Exists(LogFile))
        {
            return "(no server log)";
        }

        var text = await File.ReadAllTextAsync(LogFile, cancellationToken).ConfigureAwait(false);
        return text.Length <= maxChars ? text : text[^maxChars..];
    }

    public override Task CopyLogToAsync(string folder, CancellationToken cancellationToken)
    {
        if (File.Exists(LogFile))
        {
            File.Copy(LogFile, Path.Combine(folder, Name + ".log"), overwrite: true);
        }

        return Task.CompletedTask;
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The postmaster's PID from the first line of postmaster.pid, if the file exists (it may be stale).</summary>
    internal int? ReadPostmasterPid()
    {
        try
        {
            var firstLine = File.ReadLines(Path.Combine(DataDirectory, PidFileName)).FirstOrDefault();
            return int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The PID in postmaster.pid if that process is, right now, a postgres server of this data directory (its
    /// command line is <c>…/postgres -D &lt;this data directory&gt;</c>); null when there is no file or it is stale.
    /// </summary>
    internal int? FindRunningPostmaster() =>
        ReadPostmasterPid() is { } pid && ProcessInfo.IsPostmasterOf(pid, DataDirectory) ? pid : null;

    private static async Task WriteFileAsync(string path, string content, bool append, bool secret, CancellationToken cancellationToken)
    {
        var existed = File.Exists(path);
        if (secret)
        {
            // Created 0600, so the content is never readable by others, not even for a moment.
            File.Delete(path);
            existed = false;
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            var stream = new FileStream(path, options);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(content), cancellationToken).ConfigureAwait(false);
            }
        }
        else if (append)
        {
            await File.AppendAllTextAsync(path, content, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await File.WriteAllTextAsync(path, content, cancellationToken).ConfigureAwait(false);
        }

        if (!existed)
        {
            await ServerUser.ChownAsync(path, cancellationToken).ConfigureAwait(false);
        }
    }
}
