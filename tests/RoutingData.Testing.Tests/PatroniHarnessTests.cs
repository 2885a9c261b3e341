using System.Diagnostics;
using RoutingData.Testing.Internal;
using RoutingData.Testing.Patroni;
using Xunit;

namespace RoutingData.Testing.Tests;

/// <summary>
/// The Patroni harness leaves nothing behind: its daemons, etcd and servers are found (and only they) by the janitor
/// that cleans up after killed runs, killed in the right order (Patroni first, or it starts its server again), and
/// dispose removes everything. Skipped where Patroni or etcd is not installed.
/// </summary>
public sealed class PatroniHarnessTests
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_janitor_finds_and_kills_a_Patroni_cluster_and_dispose_leaves_no_process_and_no_folder()
    {
        var unavailable = PatroniCluster.GetUnavailableReason();
        Assert.SkipWhen(unavailable is not null, unavailable ?? string.Empty);

        var cluster = await PatroniCluster.StartAsync(new PatroniClusterOptions { Nodes = 1 }, _ct);
        var directory = cluster.Directory;
        try
        {
            var leader = await cluster.WaitForLeaderAsync(cancellationToken: _ct);
            Assert.Equal(1, await leader.ExecuteScalarAsync<int>("SELECT 1", _ct));
            Assert.Equal(2, ProcessInfo.FindClusterManagersUnder(directory).Count); // Patroni and etcd.
            Assert.Single(ProcessInfo.FindPostmastersUnder(directory));

            // Someone follows a Patroni log: its command line names the folder, but it is neither daemon nor server.
            using var tail = Process.Start(new ProcessStartInfo("tail", ["-f", Path.Combine(leader.Folder, "patroni.log")]) { UseShellExecute = false })!;
            await WaitUntilAsync(() => ProcessInfo.CommandLine(tail.Id)?.Contains(directory, StringComparison.Ordinal) == true, "tail to start");
            Assert.DoesNotContain(tail.Id, ProcessInfo.FindClusterManagersUnder(directory));

            StaleClusterJanitor.KillServers(directory);
            await WaitUntilAsync(() => ProcessInfo.FindClusterManagersUnder(directory).Count == 0 && ProcessInfo.FindPostmastersUnder(directory).Count == 0, "every process of the cluster to die");
            Assert.False(tail.HasExited, "the janitor killed a process that only names the cluster folder");
            tail.Kill();
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        Assert.False(Directory.Exists(directory), $"{directory} survived");
        Assert.Empty(ProcessInfo.FindByCommandLine(directory + Path.DirectorySeparatorChar));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"Timed out waiting for {what}.");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
