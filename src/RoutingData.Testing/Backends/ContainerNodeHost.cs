using DotNet.Testcontainers.Containers;
using RoutingData.Testing.Internal;

namespace RoutingData.Testing.Backends;

/// <summary>
/// A node in a container of its own. The container's main process only sleeps; the server is run with
/// pg_ctl as the postgres user through exec, exactly as on the local backend, so stop, kill -9 and start
/// are server faults, not container restarts, and the published port never changes.
/// </summary>
internal sealed class ContainerNodeHost : NodeHost
{
    private const string Home = "/var/lib/postgresql/routingdata";
    private readonly IContainer _container;
    private readonly string _binDirectory;

    public ContainerNodeHost(string name, IContainer container, string binDirectory, int hostPort)
        : base(name)
    {
        _container = container;
        _binDirectory = binDirectory;
        ClientPort = hostPort;
    }

    public override string DataDirectory => Home + "/data";

    public override string LogFile => Home + "/postgres.log";

    public override string LogLocation => $"container {_container.Name}:{LogFile}";

    public override string ClientHost => _container.Hostname is "localhost" ? "127.0.0.1" : _container.Hostname;

    public override int ClientPort { get; }

    public override string PeerHost => Name; // The network alias.

    public override int PeerPort => 5432;

    public override int ListenPort => 5432;

    public override string ListenAddresses => "*";

    public static async Task PrepareAsync(IContainer container, CancellationToken cancellationToken)
    {
        var result = await container.ExecAsync(["gosu", "postgres", "mkdir", "-p", Home], cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new ClusterHarnessException($"Could not create {Home} in container {container.Name}: {result.Stderr}");
        }
    }

    public override async Task<CommandResult> RunToolAsync(string tool, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var command = new List<string>(arguments.Count + 3) { "gosu", "postgres", $"{_binDirectory}/{tool}" };
        command.AddRange(arguments);
        return await ExecAsync(command, timeout, cancellationToken).ConfigureAwait(false);
    }

    public override async Task WriteDataFileAsync(string relativePath, string content, bool append, CancellationToken cancellationToken)
    {
        // Content and path travel as arguments, so no shell quoting of the content is needed.
        var script = append ? "printf '%s' \"$1\" >> \"$2\"" : "printf '%s' \"$1\" > \"$2\"";
        var result = await ExecAsync(["gosu", "postgres", "sh", "-c", script, "sh", content, $"{DataDirectory}/{relativePath}"], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(result, $"write {relativePath}");
    }

    public override Task WriteSecretDataFileAsync(string relativePath, string content, CancellationToken cancellationToken) =>
        WriteSecretAsync($"{DataDirectory}/{relativePath}", content, cancellationToken);

    public override string NodeFilePath(string fileName) => $"{Home}/{fileName}";

    public override async Task WriteNodeFileAsync(string fileName, string content, bool secret, CancellationToken cancellationToken)
    {
        if (secret)
        {
            await WriteSecretAsync(NodeFilePath(fileName), content, cancellationToken).ConfigureAwait(false);
            return;
        }

        var result = await ExecAsync(["gosu", "postgres", "sh", "-c", "printf '%s' \"$1\" > \"$2\"", "sh", content, NodeFilePath(fileName)], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(result, $"write {fileName}");
    }

    public override async Task DeleteNodeFileAsync(string fileName, CancellationToken cancellationToken) =>
        ThrowIfFailed(await ExecAsync(["rm", "-f", NodeFilePath(fileName)], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false), $"delete {fileName}");

    // The container's PID namespace holds only its sleeper, exec'd tools and this node's server, and its PIDs only
    // grow during a test: a stale postmaster.pid does not name a reused PID in practice.
    public override Task<bool> DiscardStalePidFileAsync(CancellationToken cancellationToken) => Task.FromResult(false);

    public override async Task DeleteDataFileAsync(string relativePath, CancellationToken cancellationToken) =>
        ThrowIfFailed(await ExecAsync(["rm", "-f", $"{DataDirectory}/{relativePath}"], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false), $"delete {relativePath}");

    public override async Task RemoveDataDirectoryAsync(CancellationToken cancellationToken) =>
        ThrowIfFailed(await ExecAsync(["rm", "-rf", DataDirectory], TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false), "remove the data directory");

    public override async Task SignalProcessAsync(int pid, string signal, CancellationToken cancellationToken) =>
        ThrowIfFailed(await ExecAsync(["kill", "-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false), $"kill -{signal} {pid}");

    public override async Task KillServerAsync(CancellationToken cancellationToken)
    {
        // kill -1 as the postgres user signals every server process in this container (never PID 1, never itself).
        await ExecAsync(["gosu", "postgres", "sh", "-c", "kill -9 -1 || true"], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        await PostgresCluster.WaitUntilAsync(
            async ct => (await ExecAsync(["sh", "-c", "ps -u postgres -o pid= 2>/dev/null | grep -q . && echo running || echo gone"], TimeSpan.FromSeconds(10), ct).ConfigureAwait(false)).StandardOutput.Contains("gone", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10),
            $"the server processes of {Name} to exit",
            cancellationToken).ConfigureAwait(false);
    }

    public override async Task<string> ReadLogTailAsync(int maxChars, CancellationToken cancellationToken)
    {
        var result = await ExecAsync(["tail", "-c", maxChars.ToString(System.Globalization.CultureInfo.InvariantCulture), LogFile], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? result.StandardOutput : "(no server log)";
    }

    public override async Task CopyLogToAsync(string folder, CancellationToken cancellationToken)
    {
        var result = await ExecAsync(["cat", LogFile], TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        if (result.Succeeded)
        {
            await File.WriteAllTextAsync(Path.Combine(folder, Name + ".log"), result.StandardOutput, cancellationToken).ConfigureAwait(false);
        }
    }

    public override ValueTask DisposeAsync() => _container.DisposeAsync();

    private async Task<CommandResult> ExecAsync(IList<string> command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var result = await _container.ExecAsync(command, deadline.Token).ConfigureAwait(false);
        return new CommandResult((int)(result.ExitCode ?? -1), result.Stdout, result.Stderr);
    }

    private async Task WriteSecretAsync(string path, string content, CancellationToken cancellationToken)
    {
        // umask 077: the file is 0600 from the moment it is created.
        var result = await ExecAsync(["gosu", "postgres", "sh", "-c", "umask 077; rm -f \"$2\"; printf '%s' \"$1\" > \"$2\"", "sh", content, path], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(result, $"write {path}");
    }

    private void ThrowIfFailed(CommandResult result, string what)
    {
        if (!result.Succeeded)
        {
            throw new ClusterHarnessException($"Could not {what} on {Name} (container {_container.Name}): {result.Describe()}");
        }
    }
}
