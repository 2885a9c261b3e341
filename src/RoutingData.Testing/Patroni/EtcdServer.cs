using System.Globalization;
using RoutingData.Testing.Internal;

namespace RoutingData.Testing.Patroni;

/// <summary>A one-member etcd (v3 API) on loopback ports, its data in a folder of the cluster, for Patroni's DCS.</summary>
internal sealed class EtcdServer : IAsyncDisposable
{
    private readonly DaemonProcess _process;

    private EtcdServer(DaemonProcess process, int clientPort)
    {
        _process = process;
        ClientPort = clientPort;
    }

    public int ClientPort { get; }

    /// <summary>host:port for Patroni's <c>etcd3.hosts</c>.</summary>
    public string ClientAddress => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{ClientPort}");

    public string LogFile => _process.LogFile;

    public static async Task<EtcdServer> StartAsync(string binary, string folder, int clientPort, int peerPort, HttpClient http, TimeSpan timeout, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(folder);
        await ServerUser.ChownAsync(folder, cancellationToken).ConfigureAwait(false);
        var client = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{clientPort}");
        var peer = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{peerPort}");
        string[] arguments =
        [
            "--name", "etcd0",
            "--data-dir", Path.Combine(folder, "data"),
            "--listen-client-urls", client,
            "--advertise-client-urls", client,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "etcd0=" + peer,
            "--initial-cluster-state", "new",
            "--heartbeat-interval", "100",
            "--election-timeout", "1000",
            "--log-level", "warn",
        ];
        var process = DaemonProcess.Start(binary, arguments, folder, Path.Combine(folder, "etcd.log"), ServerUser.RunAsServerUser);
        var server = new EtcdServer(process, clientPort);
        try
        {
            await PostgresCluster.WaitUntilAsync(
                async ct =>
                {
                    if (process.HasExited)
                    {
                        throw new ClusterHarnessException($"etcd exited: {await process.ReadLogTailAsync(2000, ct).ConfigureAwait(false)}");
                    }

                    using var response = await http.GetAsync(new Uri(client + "/health"), ct).ConfigureAwait(false);
                    return response.IsSuccessStatusCode && (await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)).Contains("\"true\"", StringComparison.Ordinal);
                },
                timeout,
                $"etcd on port {clientPort} to be healthy",
                cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _process.KillAsync(CancellationToken.None).ConfigureAwait(false);
        _process.Dispose();
    }
}
