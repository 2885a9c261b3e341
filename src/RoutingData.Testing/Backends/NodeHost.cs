using RoutingData.Testing.Internal;

namespace RoutingData.Testing.Backends;

/// <summary>
/// Where one PostgreSQL node lives and how its server tools are run: a folder on this machine
/// (<see cref="LocalNodeHost"/>) or a container (<see cref="ContainerNodeHost"/>). Everything the
/// cluster does to a node goes through these few operations, so both backends share one implementation
/// of initdb, pg_basebackup, pg_ctl, pg_rewind and the faults.
/// </summary>
internal abstract class NodeHost : IAsyncDisposable
{
    protected NodeHost(string name) => Name = name;

    public string Name { get; }

    /// <summary>The data directory as the server tools see it.</summary>
    public abstract string DataDirectory { get; }

    /// <summary>The server log as the server tools see it.</summary>
    public abstract string LogFile { get; }

    /// <summary>Where the log can be read from this process (for messages and preserved logs).</summary>
    public abstract string LogLocation { get; }

    /// <summary>Address a client in this process connects to.</summary>
    public abstract string ClientHost { get; }

    public abstract int ClientPort { get; }

    /// <summary>Address the other nodes use for replication (the same as the client's for local nodes).</summary>
    public abstract string PeerHost { get; }

    public abstract int PeerPort { get; }

    /// <summary>The port the server itself listens on.</summary>
    public abstract int ListenPort { get; }

    /// <summary>The value of <c>listen_addresses</c>.</summary>
    public abstract string ListenAddresses { get; }

    /// <summary>Runs a PostgreSQL server tool (initdb, pg_ctl, …) as the user that owns the data.</summary>
    public abstract Task<CommandResult> RunToolAsync(string tool, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Writes (or appends to) a file in the data directory, owned by the server's user.</summary>
    public abstract Task WriteDataFileAsync(string relativePath, string content, bool append, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a file in the data directory that only the server's user may read (mode 0600 from the moment it is
    /// created), such as the TLS key.
    /// </summary>
    public abstract Task WriteSecretDataFileAsync(string relativePath, string content, CancellationToken cancellationToken);

    /// <summary>The path, as the server tools see it, of a file in the node's own folder (next to the data directory).</summary>
    public abstract string NodeFilePath(string fileName);

    /// <summary>
    /// Writes a file in the node's own folder (next to the data directory), owned by the server's user; with
    /// <paramref name="secret"/>, mode 0600 from the moment it is created (libpq ignores a readable .pgpass).
    /// </summary>
    public abstract Task WriteNodeFileAsync(string fileName, string content, bool secret, CancellationToken cancellationToken);

    /// <summary>Deletes a file in the node's own folder if it exists.</summary>
    public abstract Task DeleteNodeFileAsync(string fileName, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes <c>postmaster.pid</c> when it does not name a running server of this data directory (a node that was
    /// killed leaves it behind, and its PID may belong to another process by now), so that neither pg_ctl nor the
    /// harness signals that PID and a start is not refused. Returns whether a stale file was removed.
    /// </summary>
    public abstract Task<bool> DiscardStalePidFileAsync(CancellationToken cancellationToken);

    /// <summary>Deletes a file in the data directory if it exists.</summary>
    public abstract Task DeleteDataFileAsync(string relativePath, CancellationToken cancellationToken);

    /// <summary>Removes the whole data directory (the log stays).</summary>
    public abstract Task RemoveDataDirectoryAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Kills the postmaster and all its children with SIGKILL, the way a crash would. Nothing is signalled unless the
    /// PID in postmaster.pid is, right now, a postgres server of this data directory.
    /// </summary>
    public abstract Task KillServerAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Sends a signal (STOP, CONT, TERM…) to one server process of this node; refuses (with a
    /// <see cref="ClusterHarnessException"/>) when <paramref name="pid"/> is not the node's postmaster or one of its children.
    /// </summary>
    public abstract Task SignalProcessAsync(int pid, string signal, CancellationToken cancellationToken);

    /// <summary>Reads the tail of the server log, for error messages.</summary>
    public abstract Task<string> ReadLogTailAsync(int maxChars, CancellationToken cancellationToken);

    /// <summary>Copies the server log into a folder on this machine.</summary>
    public abstract Task CopyLogToAsync(string folder, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}
