using System.Globalization;

namespace RoutingData.Testing.Internal;

/// <summary>What /proc says about a process: enough to tell a live owner from a recycled PID.</summary>
internal static class ProcessInfo
{
    /// <summary>The process start time in clock ticks since boot (field 22 of /proc/PID/stat), or null if it is gone.</summary>
    public static long? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may contain spaces: parse after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether the process <paramref name="pid"/> that started at <paramref name="startTime"/> still runs: not gone, not
    /// another process with a reused PID, and not a zombie (killed, waiting for its parent — or an init that reaps
    /// slowly — to collect it).
    /// </summary>
    public static bool IsRunning(int pid, long startTime)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[0] is not ("Z" or "X" or "x") && long.Parse(fields[19], CultureInfo.InvariantCulture) == startTime;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>The parent's PID (field 4 of /proc/PID/stat), or null if the process is gone.</summary>
    public static int? ParentId(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The process's arguments (argv, from /proc/PID/cmdline), or null if it is gone.</summary>
    public static string[]? Arguments(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/cmdline");
            return text.Length == 0 ? [] : text.TrimEnd('\0').Split('\0');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The data directory of a PostgreSQL server (a postmaster, started by pg_ctl as <c>…/postgres -D &lt;dir&gt; …</c>),
    /// or null when <paramref name="pid"/> is no such process: gone, another program, or a server's child (children
    /// overwrite their command line with a title such as <c>postgres: checkpointer</c>).
    /// </summary>
    public static string? PostmasterDataDirectory(int pid)
    {
        if (pid <= 0 || pid == Environment.ProcessId || Arguments(pid) is not { Length: >= 3 } arguments
            || Path.GetFileName(arguments[0]) != "postgres")
        {
            return null;
        }

        for (var i = 1; i < arguments.Length; i++)
        {
            if (arguments[i] == "-D" && i + 1 < arguments.Length)
            {
                return Path.TrimEndingDirectorySeparator(arguments[i + 1]);
            }

            if (arguments[i].StartsWith("-D", StringComparison.Ordinal) && arguments[i].Length > 2)
            {
                return Path.TrimEndingDirectorySeparator(arguments[i][2..]);
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="pid"/> is the postmaster of <paramref name="dataDirectory"/>, checked in /proc right now.</summary>
    public static bool IsPostmasterOf(int pid, string dataDirectory) =>
        PostmasterDataDirectory(pid) is { } running
        && string.Equals(running, Path.TrimEndingDirectorySeparator(dataDirectory), StringComparison.Ordinal);

    /// <summary>PIDs of every PostgreSQL postmaster whose data directory is under <paramref name="folder"/>.</summary>
    public static List<int> FindPostmastersUnder(string folder)
    {
        var prefix = Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar;
        var found = new List<int>();
        foreach (var pid in FindByCommandLine(prefix))
        {
            if (PostmasterDataDirectory(pid) is { } dataDirectory && dataDirectory.StartsWith(prefix, StringComparison.Ordinal))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    /// <summary>
    /// PIDs of the Patroni daemons and etcd servers of a cluster folder: a <c>patroni</c> program (run directly or by an
    /// interpreter) whose configuration file is under <paramref name="folder"/>, or <c>etcd</c> whose <c>--data-dir</c>
    /// is. Anything else that names the folder is left out.
    /// </summary>
    public static List<int> FindClusterManagersUnder(string folder)
    {
        var prefix = Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar;
        var found = new List<int>();
        foreach (var pid in FindByCommandLine(prefix))
        {
            if (pid != Environment.ProcessId && Arguments(pid) is { Length: >= 2 } arguments && (IsPatroniUnder(arguments, prefix) || IsEtcdUnder(arguments, prefix)))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    private static bool IsPatroniUnder(string[] arguments, string prefix)
    {
        for (var i = 0; i < Math.Min(2, arguments.Length - 1); i++)
        {
            if (Path.GetFileName(arguments[i]) == "patroni")
            {
                return arguments[i + 1].StartsWith(prefix, StringComparison.Ordinal);
            }
        }

        return false;
    }

    private static bool IsEtcdUnder(string[] arguments, string prefix)
    {
        if (Path.GetFileName(arguments[0]) != "etcd")
        {
            return false;
        }

        for (var i = 1; i < arguments.Length; i++)
        {
            if ((arguments[i] == "--data-dir" && i + 1 < arguments.Length && arguments[i + 1].StartsWith(prefix, StringComparison.Ordinal))
                || arguments[i].StartsWith("--data-dir=" + prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>PIDs of every process whose command line contains <paramref name="fragment"/>.</summary>
    public static List<int> FindByCommandLine(string fragment)
    {
        var found = new List<int>();
        if (!Directory.Exists("/proc"))
        {
            return found;
        }

        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && CommandLine(pid) is { } commandLine
                && commandLine.Contains(fragment, StringComparison.Ordinal))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    /// <summary>
    /// SIGKILL to <paramref name="pid"/>, then to its children (found in one pass over /proc, before: a killed parent's
    /// children are re-parented). Unlike <see cref="KillTree"/> it does not walk the whole tree process by process, so a
    /// crash takes milliseconds, as a real one does; a postmaster's children are all direct ones.
    /// </summary>
    /// <returns>Every process signalled, with its start time read before the kill, for <see cref="WaitUntilDeadAsync"/>.</returns>
    public static List<(int Pid, long? StartTime)> KillWithChildren(int pid)
    {
        var victims = new List<(int Pid, long? StartTime)> { (pid, StartTime(pid)) };
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var child) && ParentId(child) == pid)
            {
                victims.Add((child, StartTime(child)));
            }
        }

        foreach (var (victim, _) in victims)
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(victim);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
        }

        return victims;
    }

    /// <summary>
    /// Waits until none of <paramref name="victims"/> runs. A zombie counts as dead: it holds no socket and no shared
    /// memory, and the init of a container or VM may reap it seconds or minutes later (Process.WaitForExit waits for that).
    /// </summary>
    public static async Task WaitUntilDeadAsync(List<(int Pid, long? StartTime)> victims, TimeSpan timeout, CancellationToken cancellationToken)
    {
        static bool Running((int Pid, long? StartTime) v) => v.StartTime is { } started && IsRunning(v.Pid, started);
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (victims.Exists(Running))
        {
            if (deadline.Elapsed > timeout)
            {
                var left = victims.FindAll(Running).ConvertAll(v => v.Pid);
                throw new TimeoutException($"Processes {string.Join(", ", left)} still run {timeout.TotalSeconds:0} s after SIGKILL.");
            }

            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    public static void KillTree(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }
}
