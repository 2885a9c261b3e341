using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace RoutingData.Testing.Internal;

/// <summary>Hands out free loopback TCP ports, never the same one twice in a process.</summary>
internal static class FreePorts
{
    private static readonly ConcurrentDictionary<int, byte> Issued = new();

    public static int Next()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (Issued.TryAdd(port, 0))
            {
                return port;
            }
        }

        throw new ClusterHarnessException("Could not find a free loopback TCP port after 100 attempts.");
    }
}
