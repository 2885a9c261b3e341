namespace RoutingData.Testing.Patroni;

/// <summary>Finds the <c>patroni</c> and <c>etcd</c> programs on this machine.</summary>
internal static class PatroniBinaries
{
    private static readonly string[] WellKnownFolders = ["/usr/bin", "/usr/local/bin", "/usr/sbin"];

    private static readonly string[] Programs = ["patroni", "etcd"];

    /// <summary>The program's path: the first on the PATH, then the usual folders; null when there is none.</summary>
    public static string? Find(string program)
    {
        var folders = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(WellKnownFolders);
        return folders.Select(folder => Path.Combine(folder, program)).FirstOrDefault(File.Exists);
    }

    /// <summary>Null when Patroni and etcd are installed (and, as root, the server user exists); else why not.</summary>
    public static string? GetUnavailableReason()
    {
        var missing = Programs.Where(p => Find(p) is null).ToList();
        if (missing.Count > 0)
        {
            return $"{string.Join(" and ", missing)} not found (searched the PATH and {string.Join(", ", WellKnownFolders)}); " +
                "Debian/Ubuntu: apt-get install -y patroni etcd-server.";
        }

        if (Internal.ServerUser.RunAsServerUser && !File.ReadLines("/etc/passwd").Any(l => l.StartsWith(Internal.ServerUser.Name + ":", StringComparison.Ordinal)))
        {
            return $"Running as root, the Patroni harness runs Patroni and PostgreSQL as '{Internal.ServerUser.Name}', and there is no such user (the postgresql package creates it).";
        }

        return null;
    }
}
