using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace RoutingData.Testing.Faults;

/// <summary>
/// An in-process TCP proxy on a loopback port in front of one host, whose behaviour can be switched at
/// run time: pass, added latency, blackhole (accept and never answer), or reset. The mode applies to
/// open connections as well as new ones; <see cref="RefuseNewConnections"/> refuses new ones alone.
/// </summary>
public sealed class TcpFaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private volatile Target _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<ProxiedConnection, byte> _connections = new();
    private readonly Task _acceptLoop;
    private volatile int _mode;
    private long _latencyTicks;
    private volatile bool _refuseNew;
    private int _refused;

    private TcpFaultProxy(string targetHost, int targetPort)
    {
        _target = new Target(targetHost, targetPort);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Gets the loopback address clients connect to.</summary>
    public string Address { get; } = "127.0.0.1";

    /// <summary>Gets the port clients connect to.</summary>
    public int Port { get; }

    /// <summary>Gets the current mode.</summary>
    public ProxyMode Mode => (ProxyMode)_mode;

    /// <summary>Gets the delay added to each chunk in <see cref="ProxyMode.Latency"/> mode.</summary>
    public TimeSpan Latency => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));

    /// <summary>Gets the number of client connections the proxy holds open.</summary>
    public int OpenConnections => _connections.Count;

    /// <summary>
    /// Gets or sets whether every new connection is accepted and reset at once (the client sees a reset, not a
    /// PostgreSQL error) while the open ones keep to <see cref="Mode"/>: a listener being restarted, or a pooler or load
    /// balancer that refuses new connections. A client that already holds a connection, such as a topology monitor's
    /// probe, still gets answers.
    /// </summary>
    public bool RefuseNewConnections
    {
        get => _refuseNew;
        set => _refuseNew = value;
    }

    /// <summary>Gets how many new connections the proxy has reset at once (<see cref="ProxyMode.Reset"/> or <see cref="RefuseNewConnections"/>).</summary>
    public int RefusedConnections => Volatile.Read(ref _refused);

    /// <summary>Starts a proxy in <see cref="ProxyMode.Pass"/> mode in front of <paramref name="targetHost"/>:<paramref name="targetPort"/>.</summary>
    /// <param name="targetHost">The host to forward to.</param>
    /// <param name="targetPort">The port to forward to.</param>
    /// <returns>The running proxy.</returns>
    public static TcpFaultProxy Start(string targetHost, int targetPort)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(targetHost);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetPort);
        return new TcpFaultProxy(targetHost, targetPort);
    }

    /// <summary>Switches the proxy's behaviour for open and new connections.</summary>
    /// <param name="mode">The new mode.</param>
    /// <param name="latency">For <see cref="ProxyMode.Latency"/>: the delay per chunk and direction (must be positive).</param>
    public void SetMode(ProxyMode mode, TimeSpan latency = default)
    {
        if (mode == ProxyMode.Latency && latency <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(latency), latency, "Latency mode needs a positive latency.");
        }

        Interlocked.Exchange(ref _latencyTicks, latency.Ticks);
        _mode = (int)mode;
        if (mode == ProxyMode.Reset)
        {
            foreach (var connection in _connections.Keys)
            {
                connection.Reset();
            }
        }
    }

    /// <summary>
    /// Points the proxy at another server and resets every open connection, as a virtual IP or a pooler that moves to
    /// another standby does: clients reconnect to the same address and reach a different server.
    /// </summary>
    /// <param name="targetHost">The host to forward new connections to.</param>
    /// <param name="targetPort">The port to forward new connections to.</param>
    public void Retarget(string targetHost, int targetPort)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(targetHost);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetPort);
        _target = new Target(targetHost, targetPort);
        foreach (var connection in _connections.Keys)
        {
            connection.Reset();
        }
    }

    /// <summary>Stops listening and closes every connection.</summary>
    /// <returns>A task that completes when the proxy has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        foreach (var connection in _connections.Keys)
        {
            connection.Reset();
        }

        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(Socket client)
    {
        var connection = new ProxiedConnection(client);
        _connections.TryAdd(connection, 0);
        try
        {
            if (_refuseNew || Mode == ProxyMode.Reset)
            {
                Interlocked.Increment(ref _refused);
                connection.Reset();
                return;
            }

            if (Mode == ProxyMode.Blackhole)
            {
                await DiscardAsync(client).ConfigureAwait(false);
                return;
            }

            try
            {
                var target = _target;
                await connection.Upstream.ConnectAsync(target.Host, target.Port, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                connection.Reset(); // The target is down: the client sees what it would see without the proxy.
                return;
            }

            await Task.WhenAll(PumpAsync(client, connection.Upstream), PumpAsync(connection.Upstream, client)).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            connection.Dispose();
        }
    }

    private async Task DiscardAsync(Socket client)
    {
        var buffer = new byte[8192];
        try
        {
            while (await client.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                switch (Mode)
                {
                    case ProxyMode.Blackhole:
                        continue; // Swallow: the peer waits for an answer that never comes.
                    case ProxyMode.Latency:
                        await Task.Delay(Latency, _stopping.Token).ConfigureAwait(false);
                        break;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Either side went away or the proxy stops; closing both ends propagates it.
            try
            {
                from.Close();
                to.Close();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private sealed class ProxiedConnection(Socket client) : IDisposable
    {
        public Socket Client { get; } = client;

        public Socket Upstream { get; } = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        public void Reset()
        {
            ResetSocket(Client);
            ResetSocket(Upstream);
        }

        public void Dispose()
        {
            Client.Dispose();
            Upstream.Dispose();
        }

        private static void ResetSocket(Socket socket)
        {
            try
            {
                // Linger 0 makes Close send RST instead of FIN.
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private sealed record Target(string Host, int Port);
}
