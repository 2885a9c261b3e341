using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using RoutingData.Testing.Backends;

namespace RoutingData.Testing;

/// <summary>
/// One PostgreSQL server of a <see cref="PostgresCluster"/>: its address, its harness-given role, and the
/// faults that apply to a single node (stop, kill -9, start, replay lag). Faults that involve two nodes
/// (promote, re-point, rejoin, split-brain) are on the cluster.
/// </summary>
public sealed class PostgresNode
{
    private readonly PostgresCluster _cluster;

    internal PostgresNode(PostgresCluster cluster, NodeHost host, NodeRole role)
    {
        _cluster = cluster;
        NodeHost = host;
        Role = role;
        ConnectionString = BuildConnectionString(pooling: true);
        AdminConnectionString = BuildConnectionString(pooling: false);
    }

    /// <summary>Gets the node's name (<c>pg0</c> is the first primary, <c>pg1</c>… the replicas); also its <c>application_name</c> for replication.</summary>
    public string Name => NodeHost.Name;

    /// <summary>Gets the address clients connect to (a loopback address).</summary>
    public string Address => NodeHost.ClientHost;

    /// <summary>Gets the TCP port clients connect to.</summary>
    public int Port => NodeHost.ClientPort;

    /// <summary>Gets the role the harness gave this node: the initial primary, a standby, or a promoted or split-brain primary.</summary>
    public NodeRole Role { get; internal set; }

    /// <summary>Gets a value indicating whether the harness started the server and has not stopped or killed it since.</summary>
    public bool IsRunning { get; internal set; }

    /// <summary>
    /// Gets an Npgsql connection string for this node alone (user <c>postgres</c>, database <c>postgres</c>). With
    /// <see cref="ClusterAuthentication.ScramSha256"/> it carries <see cref="PostgresCluster.Password"/>; with TLS,
    /// <c>SSL Mode=VerifyFull</c> and <c>Root Certificate=</c><see cref="PostgresCluster.CertificateAuthorityFile"/>.
    /// </summary>
    public string ConnectionString { get; }

    /// <summary>Gets where the server log is: a file path for local nodes, a container path otherwise.</summary>
    public string LogLocation => NodeHost.LogLocation;

    internal NodeHost NodeHost { get; }

    internal string AdminConnectionString { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Address}:{Port.ToString(CultureInfo.InvariantCulture)}, {Role})";

    /// <summary>Starts the server and waits until it accepts connections.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="ClusterHarnessException">The server did not start; the message carries the end of its log.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        // A stale postmaster.pid (the node was killed) whose PID is alive again would make the server refuse to start.
        await NodeHost.DiscardStalePidFileAsync(cancellationToken).ConfigureAwait(false);
        var seconds = ((int)Math.Ceiling(_cluster.Options.StartTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await PostgresCluster.RunCheckedAsync(
            NodeHost,
            "pg_ctl",
            ["start", "-D", NodeHost.DataDirectory, "-l", NodeHost.LogFile, "-w", "-t", seconds],
            _cluster.Options.StartTimeout + TimeSpan.FromSeconds(5),
            cancellationToken).ConfigureAwait(false);
        IsRunning = true;
    }

    /// <summary>Stops the server (<c>pg_ctl stop -m fast|immediate</c>) and waits until it is gone.</summary>
    /// <param name="mode">Fast (clean, with a checkpoint) or immediate (crash-like; the next start recovers).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="ClusterHarnessException">The server is not running (for example it was killed); nothing is signalled.</exception>
    public async Task StopAsync(ShutdownMode mode = ShutdownMode.Fast, CancellationToken cancellationToken = default)
    {
        // pg_ctl signals the PID in postmaster.pid; after a kill that PID may be another process's by now.
        if (await NodeHost.DiscardStalePidFileAsync(cancellationToken).ConfigureAwait(false))
        {
            IsRunning = false;
            throw new ClusterHarnessException($"{Name} is not running: its postmaster.pid was stale (the PID in it is not a server of {NodeHost.DataDirectory}); removed it and signalled nothing.");
        }

        await PostgresCluster.RunCheckedAsync(
            NodeHost,
            "pg_ctl",
            ["stop", "-D", NodeHost.DataDirectory, "-m", mode == ShutdownMode.Fast ? "fast" : "immediate", "-w", "-t", "60"],
            TimeSpan.FromSeconds(65),
            cancellationToken).ConfigureAwait(false);
        IsRunning = false;
    }

    /// <summary>Kills the server and its children with SIGKILL, as a crash would, and waits until they are gone.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        await NodeHost.KillServerAsync(cancellationToken).ConfigureAwait(false);
        IsRunning = false;
    }

    /// <summary>
    /// Sets <c>recovery_min_apply_delay</c> on this standby at run time (no restart) and waits until the
    /// server reports the new value. A delay makes every commit visible here that much later than on the primary.
    /// </summary>
    /// <param name="delay">The replay delay; <see cref="TimeSpan.Zero"/> removes it.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task SetReplayDelayAsync(TimeSpan delay, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        var milliseconds = (long)delay.TotalMilliseconds;
        await ExecuteAsync(FormattableString.Invariant($"ALTER SYSTEM SET recovery_min_apply_delay = '{milliseconds}ms'"), cancellationToken).ConfigureAwait(false);
        await ExecuteAsync("SELECT pg_reload_conf()", cancellationToken).ConfigureAwait(false);
        await PostgresCluster.WaitUntilAsync(
            async ct => await ExecuteScalarAsync<string>("SELECT setting FROM pg_settings WHERE name = 'recovery_min_apply_delay'", ct).ConfigureAwait(false)
                == milliseconds.ToString(CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(10),
            $"{Name} to report recovery_min_apply_delay = {milliseconds}ms",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Returns <c>pg_is_in_recovery()</c>: true on a standby.</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<bool> IsInRecoveryAsync(CancellationToken cancellationToken = default) =>
        await ExecuteScalarAsync<bool>("SELECT pg_is_in_recovery()", cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Returns the node's timeline: from the current WAL file name on a primary, from the WAL receiver
    /// (else the last checkpoint) on a standby. Promotion moves the promoted node to a new timeline.
    /// </summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<int> GetTimelineAsync(CancellationToken cancellationToken = default) =>
        await ExecuteScalarAsync<int>(
            """
            SELECT CASE WHEN pg_is_in_recovery()
              THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))
              ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END
            """,
            cancellationToken).ConfigureAwait(false);

    /// <summary>Returns the cluster's <c>system_identifier</c> (the same on a primary and all its standbys).</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<long> GetSystemIdentifierAsync(CancellationToken cancellationToken = default) =>
        await ExecuteScalarAsync<long>("SELECT system_identifier FROM pg_control_system()", cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Returns how far this node's data goes: <c>pg_current_wal_lsn()</c> on a primary,
    /// <c>pg_last_wal_replay_lsn()</c> on a standby.
    /// </summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<NpgsqlLogSequenceNumber> GetLsnAsync(CancellationToken cancellationToken = default) =>
        await ExecuteScalarAsync<NpgsqlLogSequenceNumber>(
            "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END",
            cancellationToken).ConfigureAwait(false);

    /// <summary>Waits until this node has replayed (or, on a primary, written) WAL up to <paramref name="lsn"/>.</summary>
    /// <param name="lsn">The position to wait for, e.g. a primary's <see cref="GetLsnAsync"/> after a commit.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="TimeoutException">The node did not get there in time; the message gives its position.</exception>
    public async Task WaitForReplayAsync(NpgsqlLogSequenceNumber lsn, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var last = default(NpgsqlLogSequenceNumber);
        try
        {
            await PostgresCluster.WaitUntilAsync(
                async ct =>
                {
                    last = await GetLsnAsync(ct).ConfigureAwait(false);
                    return last >= lsn;
                },
                timeout,
                $"{Name} to replay {lsn}",
                cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{Name} did not replay {lsn} within {timeout.TotalSeconds:0.#} s; it is at {last}.", e);
        }
    }

    /// <summary>Opens a new, unpooled connection to this node.</summary>
    /// <param name="cancellationToken">Cancels the open.</param>
    public async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = new NpgsqlConnection(AdminConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs <paramref name="sql"/> on this node and returns the first column of the first row.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="sql">The statement.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<T> ExecuteScalarAsync<T>(string sql, CancellationToken cancellationToken = default)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
#pragma warning disable CA2100 // The harness runs the caller's SQL by design.
            using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw new InvalidOperationException($"'{sql}' returned no rows on {Name}.");
                }

                return await reader.IsDBNullAsync(0, cancellationToken).ConfigureAwait(false)
                    ? default!
                    : await reader.GetFieldValueAsync<T>(0, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs <paramref name="sql"/> on this node.</summary>
    /// <param name="sql">The statements.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The number of rows affected.</returns>
    public async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken = default)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
#pragma warning disable CA2100 // The harness runs the caller's SQL by design.
            using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private string BuildConnectionString(bool pooling)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = NodeHost.ClientHost,
            Port = NodeHost.ClientPort,
            Username = PostgresCluster.SuperuserName,
            Database = "postgres",
            Pooling = pooling,
            Timeout = 5,
            CommandTimeout = 60,
        };
        _cluster.ApplyClientSecurity(builder);
        return builder.ConnectionString;
    }
}
