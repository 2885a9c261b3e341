using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using RoutingData.Testing.Backends;

namespace RoutingData.Testing.Internal;

/// <summary>
/// Hands out loopback TCP ports for servers. Ports come from below the kernel's ephemeral range
/// (<c>net.ipv4.ip_local_port_range</c>), so an outgoing connection cannot be given the same port between the
/// choice and the server's start; each is checked free by binding it, is never handed out twice in a process,
/// and is locked against other processes (test runs in parallel) by an exclusive lock on
/// <c>ports/&lt;port&gt;.lock</c> under the default cluster root, held until the reservation is disposed (or the
/// process dies, which releases it).
/// </summary>
internal static class FreePorts
{
    /// <summary>The preferred range when the ephemeral range starts above it (Linux: 32768–60999).</summary>
    public const int PreferredLow = 20000;

    /// <summary>The top of the preferred range.</summary>
    public const int PreferredHigh = 32000;

    /// <summary>The fewest ports a candidate range must hold to be used.</summary>
    private const int MinimumRangeSize = 1000;

    private static readonly ConcurrentDictionary<int, byte> Issued = new();

    /// <summary>Where the per-port lock files live: <c>ports</c> under the default cluster root.</summary>
    public static string LockFolder => Path.Combine(LocalClusterBackend.DefaultRoot, "ports");

    /// <summary>Reserves a free port from the range below (or above) the ephemeral range of this machine.</summary>
    public static PortReservation Reserve()
    {
        var range = CandidateRange(ReadEphemeralRange());
        return range is { } r ? Reserve(LockFolder, r.Low, r.High) : ReserveKernelAssigned(LockFolder);
    }

    /// <summary>The ephemeral range from /proc/sys/net/ipv4/ip_local_port_range, or null where there is none.</summary>
    public static (int Low, int High)? ReadEphemeralRange(string path = "/proc/sys/net/ipv4/ip_local_port_range")
    {
        try
        {
            var parts = File.ReadAllText(path).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return parts.Length == 2
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var low)
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var high)
                && low <= high
                ? (low, high)
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Where to pick ports given the ephemeral range: 20000–32000 (capped below the range) when the range starts
    /// above it, else above the range when there is room, else null (the kernel then picks, as a last resort).
    /// Without an ephemeral range (not Linux) the preferred range.
    /// </summary>
    public static (int Low, int High)? CandidateRange((int Low, int High)? ephemeral)
    {
        if (ephemeral is not { } e)
        {
            return (PreferredLow, PreferredHigh);
        }

        var belowHigh = Math.Min(PreferredHigh, e.Low - 1);
        if (belowHigh - PreferredLow + 1 >= MinimumRangeSize)
        {
            return (PreferredLow, belowHigh);
        }

        var aboveLow = Math.Max(e.High + 1, 1024);
        if (IPEndPoint.MaxPort - aboveLow + 1 >= MinimumRangeSize)
        {
            return (aboveLow, IPEndPoint.MaxPort);
        }

        var lowHigh = e.Low - 1;
        return lowHigh - 1024 + 1 >= MinimumRangeSize ? (1024, lowHigh) : null;
    }

    /// <summary>Reserves a port in <paramref name="low"/>–<paramref name="high"/>, locking it in <paramref name="lockFolder"/>.</summary>
    /// <exception cref="ClusterHarnessException">Every port tried is in use, locked or was handed out before.</exception>
    public static PortReservation Reserve(string lockFolder, int low, int high)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(low, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(high, IPEndPoint.MaxPort);
        ArgumentOutOfRangeException.ThrowIfLessThan(high, low);
        EnsureLockFolder(lockFolder);

        // A random start spreads parallel processes over the range; the scan then wraps, so a small range is tried in full.
        var count = high - low + 1;
        var start = Random.Shared.Next(count);
        var attempts = Math.Min(count, 500);
        for (var i = 0; i < attempts; i++)
        {
            var port = low + ((start + i) % count);
            if (TryReserve(lockFolder, port) is { } reservation)
            {
                return reservation;
            }
        }

        throw new ClusterHarnessException(
            string.Create(CultureInfo.InvariantCulture, $"No free loopback TCP port in {low}–{high} after {attempts} attempts (in use, handed out before, or locked by another process in {lockFolder})."));
    }

    /// <summary>Whether this process has handed out <paramref name="port"/> (it never will again).</summary>
    public static bool WasIssued(int port) => Issued.ContainsKey(port);

    private static PortReservation ReserveKernelAssigned(string lockFolder)
    {
        EnsureLockFolder(lockFolder);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            int port;
            using (var listener = new TcpListener(IPAddress.Loopback, 0))
            {
                listener.Start();
                port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
            }

            if (TryReserve(lockFolder, port) is { } reservation)
            {
                return reservation;
            }
        }

        throw new ClusterHarnessException("Could not find a free loopback TCP port after 100 attempts.");
    }

    private static PortReservation? TryReserve(string lockFolder, int port)
    {
        // Never twice in a process: a pooled connection to a disposed cluster's port must not reach a newer server.
        if (!Issued.TryAdd(port, 0))
        {
            return null;
        }

        FileStream? lockFile = null;
        try
        {
            // FileShare.None takes flock(LOCK_EX | LOCK_NB): it fails while another process (or handle) holds the
            // lock, and the kernel drops it when the holder dies, even by SIGKILL.
            var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = (UnixFileMode)0x1B6; // 0666 (less the umask): other users' runs may lock it too.
            }

            lockFile = new FileStream(Path.Combine(lockFolder, port.ToString(CultureInfo.InvariantCulture) + ".lock"), options);
            using (var listener = new TcpListener(IPAddress.Loopback, port))
            {
                listener.Start();
                listener.Stop();
            }

            var reservation = new PortReservation(port, lockFile);
            lockFile = null;
            return reservation;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SocketException)
        {
            // Locked by another process, a lock file of another user, or the port is in use: try the next one
            // (and let a later call try this one again).
            Issued.TryRemove(port, out _);
            return null;
        }
        finally
        {
            lockFile?.Dispose();
        }
    }

    internal static void EnsureLockFolder(string lockFolder)
    {
        if (Directory.Exists(lockFolder))
        {
            return;
        }

        var parent = Path.GetDirectoryName(lockFolder);
        if (parent is not null && !Directory.Exists(parent))
        {
            LocalClusterBackend.EnsureRoot(parent);
        }

        Directory.CreateDirectory(lockFolder);
        if (!OperatingSystem.IsWindows())
        {
            // Like /tmp: every user's runs lock ports here.
            File.SetUnixFileMode(lockFolder, (UnixFileMode)0x3FF /* 0777 */ | UnixFileMode.StickyBit);
        }
    }
}

/// <summary>A port handed out by <see cref="FreePorts"/>; the lock that keeps other processes off it is held until disposal.</summary>
internal sealed class PortReservation : IDisposable
{
    private readonly FileStream _lock;

    internal PortReservation(int port, FileStream lockFile)
    {
        Port = port;
        _lock = lockFile;
    }

    public int Port { get; }

    public void Dispose() => _lock.Dispose();
}
