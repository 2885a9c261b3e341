using System.Globalization;
using RoutingData.Testing.Internal;

namespace RoutingData.Testing.Backends;

/// <summary>A node in a folder on this machine, served by the local PostgreSQL binaries on a loopback port.</summary>
internal sealed class LocalNodeHost : NodeHost
{
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
        var result = await ProcessRunner.RunAsync("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], null, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new ClusterHarnessException($"kill -{signal} {pid} failed on {Name}: {result.StandardError.Trim()}");
        }
    }

    public override async Task WriteDataFileAsync(string relativePath, string content, bool append, CancellationToken cancellationToken)
    {
        var path = Path.Combine(DataDirectory, relativePath);
        var existed = File.Exists(path);
        if (append)
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
        var pid = ReadPostmasterPid();
        if (pid is null)
        {
            return;
        }

        using var process = TryGetProcess(pid.Value);
        if (process is null)
        {
            return;
        }

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
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

    /// <summary>The postmaster's PID from the first line of postmaster.pid, if the file exists.</summary>
    internal int? ReadPostmasterPid()
    {
        try
        {
            var firstLine = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static System.Diagnostics.Process? TryGetProcess(int pid)
    {
        try
        {
            return System.Diagnostics.Process.GetProcessById(pid);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
