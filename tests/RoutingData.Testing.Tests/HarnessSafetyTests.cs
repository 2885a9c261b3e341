using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RoutingData.Testing.Backends;
using RoutingData.Testing.Internal;
using RoutingData.Testing.Xunit;
using Xunit;

namespace RoutingData.Testing.Tests;

/// <summary>
/// The harness runs as root: it must never signal a process that is not one of its servers, even when a
/// postmaster.pid left by a killed node names a PID that has been given to another process since.
/// </summary>
public sealed class HarnessSafetyTests : ClusterTestBase
{
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_stale_postmaster_pid_naming_another_process_is_never_signalled()
    {
        var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 0 }, _ct);
        using var bystander = StartAsServerUser("sleep", "300");
        try
        {
            var node = cluster.Primary;
            var host = (LocalNodeHost)node.NodeHost;
            await node.KillAsync(_ct);
            Assert.True(File.Exists(PidFile(node)), "a killed server leaves its postmaster.pid behind");

            // The bystander runs as the server user, so even pg_ctl (which runs as that user) could signal it.
            await PointPidFileAtAsync(node, bystander.Id);
            Assert.Null(host.FindRunningPostmaster());
            await node.KillAsync(_ct);
            AssertAlive(bystander, "KillAsync");

            await PointPidFileAtAsync(node, bystander.Id);
            var stop = await Assert.ThrowsAsync<ClusterHarnessException>(() => node.StopAsync(ShutdownMode.Fast, _ct));
            Assert.Contains("stale", stop.Message, StringComparison.Ordinal);
            AssertAlive(bystander, "StopAsync");

            // A stale file whose PID is alive would make the server refuse to start ("lock file already exists").
            await PointPidFileAtAsync(node, bystander.Id);
            await node.StartAsync(_ct);
            AssertAlive(bystander, "StartAsync");
            Assert.Equal(1, await node.ExecuteScalarAsync<int>("SELECT 1", _ct));

            // A PID read earlier (a walsender's) that is not a server process of the node is refused, not signalled.
            await Assert.ThrowsAsync<ClusterHarnessException>(() => host.SignalProcessAsync(bystander.Id, "STOP", _ct));
            Assert.Equal('S', ProcessState(bystander.Id));

            // Promotion signals through pg_ctl too.
            await node.KillAsync(_ct);
            await PointPidFileAtAsync(node, bystander.Id);
            await Assert.ThrowsAsync<ClusterHarnessException>(() => cluster.PromoteAsync(node, _ct));
            AssertAlive(bystander, "PromoteAsync");

            // Dispose stops every server (pg_ctl stop, then SIGKILL) and kills what names the folder.
            await PointPidFileAtAsync(node, bystander.Id);
            await cluster.DisposeAsync();
            AssertAlive(bystander, "DisposeAsync");
            Assert.False(bystander.WaitForExit(TimeSpan.FromMilliseconds(300)), "the bystander died after the harness was done");
        }
        finally
        {
            await cluster.DisposeAsync();
            bystander.Kill();
        }
    }

    [Fact]
    public async Task The_janitor_kills_the_servers_of_a_folder_and_nothing_else_that_names_it()
    {
        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 1 }, _ct);
        var postmasters = ProcessInfo.FindPostmastersUnder(cluster.Directory);
        Assert.Equal(2, postmasters.Count);

        // Someone follows a server log: its command line names the cluster folder, but it is no server.
        using var tail = StartAsServerUser("tail", "-f", cluster.Primary.LogLocation);
        await WaitUntilAsync(() => ProcessInfo.CommandLine(tail.Id)?.Contains(cluster.Directory, StringComparison.Ordinal) == true, "tail to start");

        StaleClusterJanitor.KillServers(cluster.Directory);

        await WaitUntilAsync(() => postmasters.All(pid => ProcessInfo.StartTime(pid) is null), "the servers to die");
        AssertAlive(tail, "the janitor");
        tail.Kill();
    }

    [Fact]
    public async Task Postmaster_recognition_needs_the_postgres_binary_and_the_exact_data_directory()
    {
        await using var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions { Replicas = 0 }, _ct);
        var host = (LocalNodeHost)cluster.Primary.NodeHost;
        var pid = host.FindRunningPostmaster();

        Assert.NotNull(pid);
        Assert.Equal(host.ReadPostmasterPid(), pid);
        Assert.True(ProcessInfo.IsPostmasterOf(pid.Value, host.DataDirectory));
        Assert.True(ProcessInfo.IsPostmasterOf(pid.Value, host.DataDirectory + "/"));
        Assert.False(ProcessInfo.IsPostmasterOf(pid.Value, host.DataDirectory + "x"));
        Assert.False(ProcessInfo.IsPostmasterOf(pid.Value, Path.GetDirectoryName(host.DataDirectory)!));
        Assert.False(ProcessInfo.IsPostmasterOf(Environment.ProcessId, host.DataDirectory));

        // A child (checkpointer, …) has the postmaster as parent but is not a postmaster itself.
        var child = await cluster.Primary.ExecuteScalarAsync<int>("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'", _ct);
        Assert.Equal(pid, ProcessInfo.ParentId(child));
        Assert.Null(ProcessInfo.PostmasterDataDirectory(child));
    }

    [Theory]
    [InlineData(32768, 60999, 20000, 32000)]
    [InlineData(25000, 60999, 20000, 24999)]
    [InlineData(10000, 60999, 61000, 65535)]
    [InlineData(1024, 59999, 60000, 65535)]
    public void Ports_are_picked_outside_the_ephemeral_range(int ephemeralLow, int ephemeralHigh, int low, int high)
    {
        Assert.Equal((low, high), FreePorts.CandidateRange((ephemeralLow, ephemeralHigh)));
    }

    [Fact]
    public void Without_room_outside_the_ephemeral_range_the_kernel_picks_and_without_a_range_the_preferred_one_is_used()
    {
        Assert.Null(FreePorts.CandidateRange((1024, 65535)));
        Assert.Equal((FreePorts.PreferredLow, FreePorts.PreferredHigh), FreePorts.CandidateRange(null));
    }

    [Fact]
    public void The_ephemeral_range_is_read_from_proc()
    {
        var path = Path.Combine(Path.GetTempPath(), "routingdata-range-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            File.WriteAllText(path, "32768\t60999\n");
            Assert.Equal((32768, 60999), FreePorts.ReadEphemeralRange(path));
            File.WriteAllText(path, "garbage");
            Assert.Null(FreePorts.ReadEphemeralRange(path));
            Assert.Null(FreePorts.ReadEphemeralRange(path + ".missing"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Reserved_ports_are_below_the_ephemeral_range_free_locked_and_never_handed_out_twice()
    {
        var ephemeral = FreePorts.ReadEphemeralRange();
        Assert.SkipWhen(ephemeral is null, "No /proc/sys/net/ipv4/ip_local_port_range on this machine.");
        var range = FreePorts.CandidateRange(ephemeral)!.Value;

        var reservations = Enumerable.Range(0, 8).Select(_ => FreePorts.Reserve()).ToList();
        try
        {
            Assert.Equal(reservations.Count, reservations.Select(r => r.Port).Distinct().Count());
            foreach (var reservation in reservations)
            {
                Assert.InRange(reservation.Port, range.Low, range.High);
                Assert.False(reservation.Port >= ephemeral!.Value.Low && reservation.Port <= ephemeral.Value.High);
                Assert.True(FreePorts.WasIssued(reservation.Port));
                Assert.True(IsLocked(Path.Combine(FreePorts.LockFolder, $"{reservation.Port}.lock")), $"port {reservation.Port} is not locked");
                using var listener = new TcpListener(IPAddress.Loopback, reservation.Port);
                listener.Start(); // Free: the server can bind it.
            }
        }
        finally
        {
            reservations.ForEach(r => r.Dispose());
        }

        // Released for other processes, but this process never hands the port out again.
        Assert.False(IsLocked(Path.Combine(FreePorts.LockFolder, $"{reservations[0].Port}.lock")));
        var port = reservations[0].Port;
        Assert.Throws<ClusterHarnessException>(() => FreePorts.Reserve(FreePorts.LockFolder, port, port));
    }

    [Fact]
    public async Task A_port_locked_by_another_process_is_skipped_until_the_lock_is_released()
    {
        var folder = TempFolder();
        try
        {
            var (port, shared) = UnissuedFreePort();
            using var sharedLock = shared;
            var lockFile = Path.Combine(folder, $"{port}.lock");

            // Another process (flock(1), the same flock(2) lock .NET takes for FileShare.None) holds the port's lock;
            // --close keeps it in flock alone, so the lock is gone once flock has exited.
            using var holder = StartAsServerUser("flock", "--exclusive", "--close", lockFile, "sleep", "300");
            await WaitUntilAsync(() => IsLocked(lockFile), "flock to take the lock");
            var error = Assert.Throws<ClusterHarnessException>(() => FreePorts.Reserve(folder, port, port));
            Assert.Contains("locked by another process", error.Message, StringComparison.Ordinal);

            holder.Kill(entireProcessTree: true);
            await holder.WaitForExitAsync(_ct);
            using var reservation = FreePorts.Reserve(folder, port, port);
            Assert.Equal(port, reservation.Port);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_port_in_use_is_skipped()
    {
        var folder = TempFolder();
        try
        {
            var (port, shared) = UnissuedFreePort();
            using var sharedLock = shared;
            using (var listener = new TcpListener(IPAddress.Loopback, port))
            {
                listener.Start();
                Assert.Throws<ClusterHarnessException>(() => FreePorts.Reserve(folder, port, port));
                Assert.False(FreePorts.WasIssued(port));
            }

            using var reservation = FreePorts.Reserve(folder, port, port);
            Assert.Equal(port, reservation.Port);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string PidFile(PostgresNode node) => Path.Combine(node.NodeHost.DataDirectory, "postmaster.pid");

    private async Task PointPidFileAtAsync(PostgresNode node, int pid)
    {
        // Keep the rest of the file (data directory, start time, port, …) as a killed server left it.
        var lines = File.Exists(PidFile(node))
            ? (await File.ReadAllLinesAsync(PidFile(node), _ct)).ToList()
            : [string.Empty, node.NodeHost.DataDirectory];
        lines[0] = pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await File.WriteAllLinesAsync(PidFile(node), lines, _ct);
        await ServerUser.ChownAsync(PidFile(node), _ct);
    }

    private static void AssertAlive(Process process, string after)
    {
        Assert.False(process.HasExited, $"The unrelated process {process.Id} was killed by {after}.");
        Assert.NotEqual('T', ProcessState(process.Id));
    }

    private static char? ProcessState(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }

    /// <summary>Starts a program as the server user when this process is root (setpriv execs it: same PID).</summary>
    private static Process StartAsServerUser(string program, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(ServerUser.RunAsServerUser ? "setpriv" : program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (ServerUser.RunAsServerUser)
        {
            foreach (var argument in new[] { $"--reuid={ServerUser.Name}", $"--regid={ServerUser.Name}", "--clear-groups", "--", program })
            {
                startInfo.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return Process.Start(startInfo)!;
    }

    private static bool IsLocked(string path)
    {
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static string TempFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "routingdata-ports-test-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder, (UnixFileMode)0x1FF); // 0777: the flock holder runs as the server user.
        }

        return folder;
    }

    /// <summary>
    /// A port in the preferred range that this process never handed out and that is free right now, with its lock in the
    /// shared lock folder held: no cluster of this or another test process takes it while the test uses it.
    /// </summary>
    private static (int Port, FileStream SharedLock) UnissuedFreePort()
    {
        FreePorts.EnsureLockFolder(FreePorts.LockFolder);
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = Random.Shared.Next(FreePorts.PreferredLow, FreePorts.PreferredHigh + 1);
            if (FreePorts.WasIssued(port))
            {
                continue;
            }

            FileStream? sharedLock = null;
            try
            {
                sharedLock = new FileStream(Path.Combine(FreePorts.LockFolder, $"{port}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                (var taken, sharedLock) = (sharedLock, null);
                return (port, taken);
            }
            catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
            {
                // In use, or locked by another run; try another.
            }
            finally
            {
                sharedLock?.Dispose();
            }
        }

        throw new InvalidOperationException("No free port found for the test.");
    }

    private async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"Timed out waiting for {what}.");
            await Task.Delay(20, _ct);
        }
    }
}
