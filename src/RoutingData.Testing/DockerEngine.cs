using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RoutingData.Testing;

/// <summary>Tells whether a Docker engine answers, for the <see cref="ClusterBackendKind.Testcontainers"/> backend.</summary>
public static class DockerEngine
{
    /// <summary>
    /// Pings the engine named by <c>DOCKER_HOST</c> (default <c>unix:///var/run/docker.sock</c>).
    /// Returns null when it answers, else why not — a reason fit for a skipped test.
    /// </summary>
    /// <param name="cancellationToken">Cancels the ping.</param>
    /// <returns>Null if the engine answered <c>/_ping</c>; otherwise the reason it is unavailable.</returns>
    public static async Task<string?> GetUnavailableReasonAsync(CancellationToken cancellationToken = default)
    {
        var dockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (string.IsNullOrWhiteSpace(dockerHost))
        {
            dockerHost = "unix:///var/run/docker.sock";
        }

        EndPoint endPoint;
        if (dockerHost.StartsWith("unix://", StringComparison.Ordinal))
        {
            var path = dockerHost["unix://".Length..];
            if (!File.Exists(path))
            {
                return $"No Docker engine: the socket {path} does not exist (DOCKER_HOST={dockerHost}).";
            }

            endPoint = new UnixDomainSocketEndPoint(path);
        }
        else if (Uri.TryCreate(dockerHost, UriKind.Absolute, out var uri) && uri.Scheme == "tcp")
        {
            endPoint = new DnsEndPoint(uri.Host, uri.Port);
        }
        else
        {
            return $"DOCKER_HOST '{dockerHost}' is neither unix:// nor tcp://.";
        }

        try
        {
            using var socket = endPoint is UnixDomainSocketEndPoint
                ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                : new Socket(SocketType.Stream, ProtocolType.Tcp);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            await socket.SendAsync("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"u8.ToArray(), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            var buffer = new byte[512];
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            var response = Encoding.ASCII.GetString(buffer, 0, read);
            return response.Contains(" 200 ", StringComparison.Ordinal)
                ? null
                : $"The Docker engine at {dockerHost} did not answer /_ping with 200: {response.Split('\n')[0].Trim()}";
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return $"No Docker engine answers at {dockerHost}: {e.Message}";
        }
    }
}
