using System.Diagnostics;
using RoutingData.Testing.Internal;
using Xunit;

namespace RoutingData.Testing.Tests;

/// <summary>
/// A crashed node's processes are dead once they are zombies: their parent (the machine's init, for a daemonized
/// postmaster) may collect them seconds or minutes later, and waiting for that made a <c>kill -9</c> take up to 166 s.
/// </summary>
public sealed class ProcessKillTests
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_killed_process_whose_parent_never_reaps_it_counts_as_dead()
    {
        Assert.SkipWhen(!Directory.Exists("/proc"), "needs /proc to read process states");

        // sh starts a sleeper in the background, then becomes a process that never waits for it: killed, the sleeper
        // stays a zombie for as long as that parent lives.
        using var parent = Process.Start(new ProcessStartInfo("sh", ["-c", "sleep 300 & echo $!; exec sleep 300"]) { RedirectStandardOutput = true })!;
        try
        {
            var child = int.Parse((await parent.StandardOutput.ReadLineAsync(_ct))!, System.Globalization.CultureInfo.InvariantCulture);
            var startTime = ProcessInfo.StartTime(child);
            Assert.NotNull(startTime);
            Assert.True(ProcessInfo.IsRunning(child, startTime.Value));

            var victims = ProcessInfo.KillWithChildren(child);
            await ProcessInfo.WaitUntilDeadAsync(victims, TimeSpan.FromSeconds(30), _ct);

            // Still there as a zombie, so waiting for it to be gone (Process.WaitForExit on a process that is not ours)
            // would still be waiting.
            Assert.Contains(victims, v => v.Pid == child);
            Assert.Equal("Z", State(child));
        }
        finally
        {
            parent.Kill(entireProcessTree: true);
            await parent.WaitForExitAsync(_ct);
        }
    }

    private static string State(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
    }
}
