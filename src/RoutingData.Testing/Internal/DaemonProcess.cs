using System.Diagnostics;

namespace RoutingData.Testing.Internal;

/// <summary>
/// A long-running program (Patroni, etcd) started in the background, its output appended to a log file. It runs
/// through a shell's <c>exec</c>, so its PID is the program's own and no pipe ties it (or the servers it starts) to
/// this process; as the server user when this process is root.
/// </summary>
internal sealed class DaemonProcess : IDisposable
{
    private readonly Process _process;

    private DaemonProcess(Process process, string logFile)
    {
        _process = process;
        LogFile = logFile;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string LogFile { get; }

    public static DaemonProcess Start(string fileName, IReadOnlyList<string> arguments, string workingDirectory, string logFile, bool asServerUser)
    {
        var startInfo = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = workingDirectory };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add("exec \"$0\" \"$@\" >>\"$ROUTINGDATA_DAEMON_LOG\" 2>&1 </dev/null");
        startInfo.ArgumentList.Add(fileName);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["ROUTINGDATA_DAEMON_LOG"] = logFile;
        startInfo.Environment["HOME"] = workingDirectory;
        startInfo.Environment["LC_ALL"] = "C.UTF-8";
        startInfo.Environment["LANG"] = "C.UTF-8";
        if (asServerUser)
        {
            startInfo.UserName = ServerUser.Name;
        }

        var process = Process.Start(startInfo) ?? throw new ClusterHarnessException($"{Path.GetFileName(fileName)} did not start.");
        return new DaemonProcess(process, logFile);
    }

    /// <summary>SIGKILL, and waits until it is gone.</summary>
    public async Task KillAsync(CancellationToken cancellationToken)
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<string> ReadLogTailAsync(int maxChars, CancellationToken cancellationToken)
    {
        if (!File.Exists(LogFile))
        {
            return "(no log)";
        }

        var text = await File.ReadAllTextAsync(LogFile, cancellationToken).ConfigureAwait(false);
        return text.Length <= maxChars ? text : text[^maxChars..];
    }

    public void Dispose() => _process.Dispose();
}
