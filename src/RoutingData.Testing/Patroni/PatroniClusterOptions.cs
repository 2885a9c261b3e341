namespace RoutingData.Testing.Patroni;

/// <summary>What <see cref="PatroniCluster.StartAsync(PatroniClusterOptions?, CancellationToken)"/> starts.</summary>
public sealed class PatroniClusterOptions
{
    /// <summary>Gets or sets the number of Patroni nodes (each manages one PostgreSQL server).</summary>
    /// <value>The default value is 3. Allowed: 1 to 7.</value>
    public int Nodes { get; set; } = 3;

    /// <summary>
    /// Gets or sets Patroni's <c>ttl</c> in seconds: how long the leader key lives without being renewed, so about how
    /// long a failover takes after the leader dies.
    /// </summary>
    /// <value>The default value is 8. It must be at least <see cref="LoopWait"/> + 2 × <see cref="RetryTimeout"/>.</value>
    public int Ttl { get; set; } = 8;

    /// <summary>Gets or sets Patroni's <c>loop_wait</c> in seconds: how often each node runs its HA loop.</summary>
    /// <value>The default value is 1.</value>
    public int LoopWait { get; set; } = 1;

    /// <summary>Gets or sets Patroni's <c>retry_timeout</c> in seconds: how long DCS and PostgreSQL operations are retried.</summary>
    /// <value>The default value is 3.</value>
    public int RetryTimeout { get; set; } = 3;

    /// <summary>
    /// Gets or sets the folder with the PostgreSQL server binaries (Patroni's <c>bin_dir</c>). When null, they are found
    /// as for <see cref="PostgresCluster"/>: <c>ROUTINGDATA_PG_BIN</c>, <c>pg_config --bindir</c>, the PATH, then
    /// <c>/usr/lib/postgresql/*/bin</c>.
    /// </summary>
    public string? BinDirectory { get; set; }

    /// <summary>
    /// Gets or sets the folder under which the cluster gets its own folder. When null:
    /// <c>ROUTINGDATA_CLUSTER_ROOT</c>, else <c>routingdata-clusters</c> in the temp folder.
    /// </summary>
    public string? RootDirectory { get; set; }

    /// <summary>Gets or sets how long starting the cluster, or waiting for it to become healthy, may take.</summary>
    /// <value>The default value is 90 seconds.</value>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(90);

    internal void Validate()
    {
        var problems = new List<string>();
        if (Nodes is < 1 or > 7)
        {
            problems.Add($"Nodes is {Nodes}; it must be between 1 and 7.");
        }

        if (LoopWait < 1 || RetryTimeout < 1)
        {
            problems.Add($"LoopWait ({LoopWait}) and RetryTimeout ({RetryTimeout}) must be at least 1 second.");
        }

        if (Ttl < LoopWait + (2 * RetryTimeout))
        {
            problems.Add($"Ttl ({Ttl}) must be at least LoopWait + 2 × RetryTimeout ({LoopWait + (2 * RetryTimeout)}), as Patroni requires.");
        }

        if (StartTimeout <= TimeSpan.Zero)
        {
            problems.Add($"StartTimeout is {StartTimeout}; it must be positive.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid PatroniClusterOptions: " + string.Join(" ", problems));
        }
    }
}
