using System.Globalization;
using RoutingData.Testing.Internal;

namespace RoutingData.Testing.Backends;

/// <summary>Finds the PostgreSQL server binaries on this machine.</summary>
internal static class PostgresBinaries
{
    internal const string EnvironmentVariable = "ROUTINGDATA_PG_BIN";

    private static readonly string[] RequiredTools = ["initdb", "pg_ctl", "postgres", "pg_basebackup", "pg_rewind"];

    private static readonly Lazy<Task<string>> Default = new(
        () => LocateAsync(Environment.GetEnvironmentVariable(EnvironmentVariable), Environment.GetEnvironmentVariable("PATH"), "pg_config", "/usr/lib/postgresql", CancellationToken.None));

    /// <summary>The folder with the server binaries, found once per process.</summary>
    public static Task<string> GetDefaultAsync() => Default.Value;

    /// <summary>
    /// Searches, in order: <paramref name="explicitFolder"/> (from <c>ROUTINGDATA_PG_BIN</c>),
    /// <c>pg_config --bindir</c>, the PATH, then the newest <c>{versionedRoot}/*/bin</c>.
    /// </summary>
    public static async Task<string> LocateAsync(string? explicitFolder, string? pathVariable, string pgConfig, string versionedRoot, CancellationToken cancellationToken)
    {
        var searched = new List<string>();

        if (!string.IsNullOrWhiteSpace(explicitFolder))
        {
            // An explicit setting that is wrong is an error, not a reason to guess elsewhere.
            if (HasServerTools(explicitFolder))
            {
                return explicitFolder;
            }

            throw new PostgresBinariesNotFoundException(
                $"{EnvironmentVariable} is set to '{explicitFolder}', but that folder does not contain the PostgreSQL server tools ({string.Join(", ", RequiredTools)}).");
        }

        searched.Add($"{EnvironmentVariable} (not set)");

        var fromPgConfig = await TryPgConfigAsync(pgConfig, cancellationToken).ConfigureAwait(false);
        searched.Add(fromPgConfig is null ? "pg_config --bindir (no pg_config)" : $"pg_config --bindir ({fromPgConfig})");
        if (fromPgConfig is not null && HasServerTools(fromPgConfig))
        {
            return fromPgConfig;
        }

        foreach (var folder in (pathVariable ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (HasServerTools(folder))
            {
                // PATH often holds symlinks (e.g. /usr/local/bin/pg_ctl); resolve to the real folder so the tools find each other.
                return ResolveFolder(folder);
            }
        }

        searched.Add("PATH");

        if (Directory.Exists(versionedRoot))
        {
            var candidates = Directory.GetDirectories(versionedRoot)
                .Select(d => (Version: ParseMajor(Path.GetFileName(d)), Bin: Path.Combine(d, "bin")))
                .Where(c => c.Version > 0 && HasServerTools(c.Bin))
                .OrderByDescending(c => c.Version)
                .ToList();
            if (candidates.Count > 0)
            {
                return candidates[0].Bin;
            }
        }

        searched.Add($"{versionedRoot}/*/bin");

        // One line that starts with what to run: it is what a test run without the binaries shows, once per test.
        throw new PostgresBinariesNotFoundException(
            "PostgreSQL server binaries not found: run 'sudo apt-get install -y postgresql' (Debian/Ubuntu; 'brew install postgresql@15' on macOS) " +
            $"or set {EnvironmentVariable} to the folder with initdb and pg_ctl (searched: " + string.Join("; ", searched) + ").");
    }

    private static bool HasServerTools(string folder) =>
        Directory.Exists(folder) && RequiredTools.All(tool => File.Exists(Path.Combine(folder, tool)));

    private static string ResolveFolder(string folder)
    {
        var pgCtl = new FileInfo(Path.Combine(folder, "pg_ctl"));
        var target = pgCtl.ResolveLinkTarget(returnFinalTarget: true);
        return target is null ? folder : Path.GetDirectoryName(target.FullName)!;
    }

    private static int ParseMajor(string name) =>
        int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var major) ? major : 0;

    private static async Task<string?> TryPgConfigAsync(string pgConfig, CancellationToken cancellationToken)
    {
        try
        {
            var result = await ProcessRunner.RunAsync(pgConfig, ["--bindir"], null, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            return result.Succeeded ? result.StandardOutput.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // pg_config is not on the PATH.
        }
    }
}
