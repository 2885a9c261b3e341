using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Networks;
using RoutingData.Testing.Internal;

namespace RoutingData.Testing.Backends;

/// <summary>One container per node on a network of the cluster's own, through Testcontainers.</summary>
internal sealed class ContainerClusterBackend : ClusterBackend
{
    private readonly INetwork _network;
    private readonly string _image;
    private readonly List<ContainerNodeHost> _nodes = [];
    private readonly List<PortReservation> _ports = [];

    private ContainerClusterBackend(INetwork network, string image, string directory)
    {
        _network = network;
        _image = image;
        Directory = directory;
    }

    public override string Description => $"Testcontainers ({_image})";

    public override string Directory { get; }

    public static async Task<ContainerClusterBackend> CreateAsync(PostgresClusterOptions options, CancellationToken cancellationToken)
    {
        if (await DockerEngine.GetUnavailableReasonAsync(cancellationToken).ConfigureAwait(false) is { } reason)
        {
            throw new ClusterHarnessException($"The Testcontainers backend needs a Docker engine. {reason}");
        }

        var network = new NetworkBuilder().WithName("routingdata-" + Guid.NewGuid().ToString("N")[..12]).Build();
        await network.CreateAsync(cancellationToken).ConfigureAwait(false);
        var directory = Path.Combine(options.RootDirectory ?? LocalClusterBackend.DefaultRoot, "containers-" + Guid.NewGuid().ToString("N")[..8]);
        return new ContainerClusterBackend(network, options.ContainerImage, directory);
    }

    public override async Task<NodeHost> CreateNodeAsync(string name, CancellationToken cancellationToken)
    {
        var reservation = FreePorts.Reserve();
        lock (_nodes)
        {
            _ports.Add(reservation);
        }

        var hostPort = reservation.Port;
        var container = new ContainerBuilder(_image)
            .WithNetwork(_network)
            .WithNetworkAliases(name)
            .WithPortBinding(hostPort, 5432)
            .WithEntrypoint("sleep", "infinity")
            .WithCleanUp(true)
            .Build();
        await container.StartAsync(cancellationToken).ConfigureAwait(false);
        await ContainerNodeHost.PrepareAsync(container, cancellationToken).ConfigureAwait(false);
        var bin = await container.ExecAsync(["sh", "-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1"], cancellationToken).ConfigureAwait(false);
        var node = new ContainerNodeHost(name, container, bin.Stdout.Trim(), hostPort);
        lock (_nodes)
        {
            _nodes.Add(node);
        }

        return node;
    }

    public override async Task StopAllAsync(CancellationToken cancellationToken)
    {
        foreach (var node in Snapshot())
        {
            await node.KillServerAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override async Task PreserveLogsAsync(string folder, CancellationToken cancellationToken)
    {
        foreach (var node in Snapshot())
        {
            await node.CopyLogToAsync(folder, cancellationToken).ConfigureAwait(false);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var node in Snapshot())
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }

        await _network.DisposeAsync().ConfigureAwait(false);
        lock (_nodes)
        {
            foreach (var port in _ports)
            {
                port.Dispose();
            }

            _ports.Clear();
        }

        try
        {
            // Only the CA certificate of a TLS cluster is written here.
            if (System.IO.Directory.Exists(Directory))
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the janitor of a later run (a folder without an owner file is removed when it is old).
        }
    }

    private List<ContainerNodeHost> Snapshot()
    {
        lock (_nodes)
        {
            return [.. _nodes];
        }
    }
}
