using System.Diagnostics;
using RoutingData.Testing;
using Spectre.Console;

namespace RoutingData.Demo;

/// <summary>
/// Starts the demo's cluster. Where the PostgreSQL server binaries are missing, installs them as CI does
/// (<c>apt-get install -y postgresql</c>) when it may (root, or sudo without a password); otherwise says in one line
/// what to run.
/// </summary>
internal static class PostgresSetup
{
    private const string InstallCommand = "sudo apt-get install -y postgresql";

    public static async Task<PostgresCluster?> StartClusterAsync(IAnsiConsole console, PostgresClusterOptions options)
    {
        try
        {
            return await PostgresCluster.StartAsync(options);
        }
        catch (PostgresBinariesNotFoundException e) when (Environment.GetEnvironmentVariable("ROUTINGDATA_PG_BIN") is { Length: > 0 })
        {
            // An explicit setting that is wrong is the user's to fix, not a reason to install anything.
            console.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            return null;
        }
        catch (PostgresBinariesNotFoundException)
        {
            if (!await CanInstallAsync())
            {
                console.MarkupLine($"[red]The PostgreSQL server binaries are not installed: run '{InstallCommand}' (or set ROUTINGDATA_PG_BIN to their folder), then run the demo again.[/]");
                return null;
            }

            console.MarkupLine("[grey]The PostgreSQL server binaries are not installed: installing them (apt-get install -y postgresql) …[/]");
            var installed = await RunAsRootAsync("apt-get", "update", "-qq") && await RunAsRootAsync("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "postgresql");
            if (!installed || NewestBinFolder() is not { } folder)
            {
                console.MarkupLine($"[red]Installing the PostgreSQL server binaries failed: run '{InstallCommand}' yourself, then run the demo again.[/]");
                return null;
            }

            options.BinDirectory = folder;
            return await PostgresCluster.StartAsync(options);
        }
    }

    private static async Task<bool> CanInstallAsync() =>
        File.Exists("/usr/bin/apt-get") && (Environment.UserName == "root" || await RunAsync("sudo", "-n", "true"));

    private static Task<bool> RunAsRootAsync(params string[] command) =>
        Environment.UserName == "root" ? RunAsync(command[0], command[1..]) : RunAsync("sudo", ["-n", .. command]);

    private static async Task<bool> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start)!;
            var drain = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
            await process.WaitForExitAsync();
            await drain;
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // No such program.
        }
    }

    /// <summary>The newest <c>/usr/lib/postgresql/*/bin</c> with the server tools, where the Debian package puts them.</summary>
    private static string? NewestBinFolder() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Major: int.TryParse(Path.GetFileName(d), out var major) ? major : 0, Bin: Path.Combine(d, "bin")))
                .Where(c => c.Major > 0 && File.Exists(Path.Combine(c.Bin, "initdb")) && File.Exists(Path.Combine(c.Bin, "pg_ctl")))
                .OrderByDescending(c => c.Major)
                .Select(c => c.Bin)
                .FirstOrDefault()
            : null;
}
