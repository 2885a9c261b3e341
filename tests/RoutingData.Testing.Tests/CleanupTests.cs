using System.Diagnostics;
using RoutingData.Testing.Internal;
using RoutingData.Testing.Xunit;
using Xunit;

namespace RoutingData.Testing.Tests;

public sealed class CleanupTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Dispose_leaves_no_server_process_and_no_folder()
    {
        var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 1 }, _ct);
        var folder = cluster.Directory;
        Assert.True(Directory.Exists(folder));
        Assert.NotEmpty(ServerProcessesUnder(folder));

        await cluster.DisposeAsync();

        Assert.False(Directory.Exists(folder), $"{folder} is still there");
        await WaitUntilAsync(() => ServerProcessesUnder(folder).Count == 0, "the servers to exit");
    }

    [Fact]
    public async Task Server_processes_run_as_a_non_root_user()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 0 });
        var pids = ServerProcessesUnder(cluster.Directory);
        Assert.NotEmpty(pids);

        // As root the harness must hand the servers to the postgres user (PostgreSQL would refuse root anyway, so check
        // the exact user); as anyone else they run as that user.
        var expected = Environment.IsPrivilegedProcess ? UidOf("postgres") : UidOf(Environment.UserName);
        foreach (var pid in pids)
        {
            var uidLine = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            Assert.Equal(expected, uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
    }

    [Fact]
    public async Task A_killed_run_is_cleaned_up_by_the_next_run()
    {
        var root = Path.Combine(Path.GetTempPath(), "routingdata-janitor-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            // A separate process starts a cluster and is killed with SIGKILL: nothing of its own can clean up.
            var staleFolder = await StartClusterInChildProcessAndKillItAsync(root);
            Assert.True(Directory.Exists(staleFolder));
            Assert.NotEmpty(ServerProcessesUnder(staleFolder));

            // The next cluster under the same root recognises the dead owner and removes its leftovers.
            await using (var next = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 0, RootDirectory = root }, _ct))
            {
                Assert.False(Directory.Exists(staleFolder), $"{staleFolder} survived");
                await WaitUntilAsync(() => ServerProcessesUnder(staleFolder).Count == 0, "the stale servers to die");
                Assert.Equal(1, await next.Primary.ExecuteScalarAsync<int>("SELECT 1", _ct));
            }
        }
        finally
        {
            StaleClusterJanitor.Clean(root);
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Preserved_logs_stay_after_dispose_and_name_their_folder()
    {
        var root = Path.Combine(Path.GetTempPath(), "routingdata-logs-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 1, RootDirectory = root }, _ct);
            var folder = cluster.PreserveLogs();
            await cluster.DisposeAsync();

            Assert.Equal(folder, cluster.PreservedLogsDirectory);
            Assert.False(Directory.Exists(cluster.Directory));
            foreach (var name in new[] { "pg0.log", "pg1.log" })
            {
                var log = await File.ReadAllTextAsync(Path.Combine(folder, name), _ct);
                Assert.Contains("database system is ready to accept", log, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static List<int> ServerProcessesUnder(string folder) =>
        ProcessInfo.FindByCommandLine(folder + Path.DirectorySeparatorChar)
            .Where(pid => ProcessInfo.CommandLine(pid)?.Contains("postgres", StringComparison.Ordinal) == true)
            .ToList();

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"Timed out waiting for {what}.");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    private async Task<string> StartClusterInChildProcessAndKillItAsync(string root)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "RoutingData.Testing.ClusterHost.dll");
        var startInfo = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(host);
        startInfo.ArgumentList.Add(root);
        using var child = Process.Start(startInfo)!;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            while (true)
            {
                var line = await child.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException("The cluster host exited: " + await child.StandardError.ReadToEndAsync(_ct));
                if (line.StartsWith("READY ", StringComparison.Ordinal))
                {
                    return line["READY ".Length..];
                }
            }
        }
        finally
        {
            child.Kill(); // SIGKILL on Unix: no ProcessExit handler runs.
            await child.WaitForExitAsync(_ct);
        }
    }

    private static string UidOf(string user) =>
        File.ReadLines("/etc/passwd").Select(l => l.Split(':')).First(f => f[0] == user)[2];
}
