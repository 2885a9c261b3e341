using System.Globalization;

namespace RoutingData.Testing.Internal;

/// <summary>
/// Removes what killed test runs left behind: each local cluster folder records the PID and start
/// time of the process that owns it; a folder whose owner is gone has its servers killed and is deleted.
/// Preserved logs of failed tests are kept for <see cref="PreservedLogsLifetime"/>.
/// </summary>
internal static class StaleClusterJanitor
{
    public const string OwnerFileName = "owner";
    public const string ClusterFolderPrefix = "c";
    public const string PreservedLogsFolder = "failed";

    public static readonly TimeSpan PreservedLogsLifetime = TimeSpan.FromDays(3);

    public static string DescribeCurrentProcess()
    {
        var pid = Environment.ProcessId;
        return FormattableString.Invariant($"{pid} {ProcessInfo.StartTime(pid) ?? 0}");
    }

    public static bool IsOwnerAlive(string clusterFolder)
    {
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(clusterFolder, OwnerFileName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A folder without an owner file is being created right now, or is debris: judge by age.
            return Directory.GetLastWriteTimeUtc(clusterFolder) > DateTime.UtcNow.AddMinutes(-10);
        }

        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var startTime))
        {
            return false;
        }

        return ProcessInfo.StartTime(pid) == startTime;
    }

    /// <summary>Cleans <paramref name="root"/>; returns the folders it removed.</summary>
    public static IReadOnlyList<string> Clean(string root)
    {
        var removed = new List<string>();
        if (!Directory.Exists(root))
        {
            return removed;
        }

        foreach (var folder in Directory.GetDirectories(root, ClusterFolderPrefix + "*"))
        {
            if (IsOwnerAlive(folder))
            {
                continue;
            }

            KillServers(folder);
            if (TryDelete(folder))
            {
                removed.Add(folder);
            }
        }

        var preserved = Path.Combine(root, PreservedLogsFolder);
        if (Directory.Exists(preserved))
        {
            foreach (var folder in Directory.GetDirectories(preserved))
            {
                if (Directory.GetLastWriteTimeUtc(folder) < DateTime.UtcNow - PreservedLogsLifetime)
                {
                    TryDelete(folder);
                }
            }
        }

        return removed;
    }

    /// <summary>
    /// Kills every PostgreSQL server (postmaster and its children) whose data directory is under
    /// <paramref name="clusterFolder"/>, after the Patroni daemons and etcd servers of that folder. Only processes that
    /// are such a server, daemon or etcd right now are signalled: anything else that merely names the folder (a
    /// <c>tail -f</c> of a server log, an editor) is left alone.
    /// </summary>
    public static void KillServers(string clusterFolder)
    {
        // Patroni first, or it starts the postgres it manages again; its etcd with it.
        foreach (var pid in ProcessInfo.FindClusterManagersUnder(clusterFolder))
        {
            ProcessInfo.KillTree(pid);
        }

        // Postmasters run as 'postgres -D <folder>/<node>/data'; their children exit when it dies, and KillTree
        // takes them with it. The '/' suffix avoids matching c123-ab when cleaning c123-a.
        foreach (var pid in ProcessInfo.FindPostmastersUnder(clusterFolder))
        {
            ProcessInfo.KillTree(pid);
        }
    }

    private static bool TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
