namespace RoutingData.Testing;

/// <summary>What cluster <see cref="PostgresCluster.StartAsync(PostgresClusterOptions?, CancellationToken)"/> starts.</summary>
public sealed class PostgresClusterOptions
{
    /// <summary>Gets or sets the number of streaming replicas.</summary>
    /// <value>The default value is 2. Allowed: 0 to 16.</value>
    public int Replicas { get; set; } = 2;

    /// <summary>
    /// Gets or sets how many of the replicas are synchronous standbys
    /// (<c>synchronous_standby_names = 'FIRST n (…)'</c> on the primary).
    /// </summary>
    /// <value>The default value is 0 (all asynchronous). Allowed: 0 to <see cref="Replicas"/>.</value>
    public int SynchronousReplicas { get; set; }

    /// <summary>
    /// Gets server settings that override the harness's test-friendly defaults (for example
    /// <c>max_connections</c> or <c>max_standby_streaming_delay</c>). They go into every node's postgresql.conf.
    /// </summary>
    public IDictionary<string, string> ServerSettings { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets or sets where the servers run.</summary>
    /// <value>The default value is <see cref="ClusterBackendKind.Local"/>.</value>
    public ClusterBackendKind Backend { get; set; } = ClusterBackendKind.Local;

    /// <summary>
    /// Gets or sets the folder with the server binaries for the local backend. When null, the harness uses
    /// <c>ROUTINGDATA_PG_BIN</c>, <c>pg_config --bindir</c>, the PATH, then <c>/usr/lib/postgresql/*/bin</c>.
    /// </summary>
    public string? BinDirectory { get; set; }

    /// <summary>
    /// Gets or sets the folder under which local clusters get their own folder. When null:
    /// <c>ROUTINGDATA_CLUSTER_ROOT</c>, else <c>routingdata-clusters</c> in the temp folder.
    /// </summary>
    public string? RootDirectory { get; set; }

    /// <summary>Gets or sets the image for the Testcontainers backend.</summary>
    /// <value>The default value is <c>postgres:15</c>.</value>
    public string ContainerImage { get; set; } = "postgres:15";

    /// <summary>
    /// Gets or sets how clients and standbys authenticate. With <see cref="ClusterAuthentication.ScramSha256"/>,
    /// <see cref="PostgresCluster.ConnectionString"/> and <see cref="PostgresNode.ConnectionString"/> carry the
    /// generated password, and replication (pg_basebackup, <c>primary_conninfo</c>, pg_rewind) reads its password
    /// from a <c>.pgpass</c> file (mode 0600) next to each data directory.
    /// </summary>
    /// <value>The default value is <see cref="ClusterAuthentication.Trust"/>.</value>
    public ClusterAuthentication Authentication { get; set; } = ClusterAuthentication.Trust;

    /// <summary>
    /// Gets or sets a value indicating whether the servers require TLS. When on, the harness generates a CA and a
    /// server certificate for the cluster (ECDSA P-256, SANs <c>127.0.0.1</c>, <c>::1</c>, <c>localhost</c> and the
    /// node names), sets <c>ssl = on</c>, and pg_hba.conf has only <c>hostssl</c> lines: a connection without TLS is
    /// refused. Clients verify the server: the connection strings carry <c>SSL Mode=VerifyFull</c> and
    /// <c>Root Certificate=</c><see cref="PostgresCluster.CertificateAuthorityFile"/>; replication connects with
    /// <c>sslmode=verify-full</c> too.
    /// </summary>
    /// <value>The default value is false.</value>
    public bool UseTls { get; set; }

    /// <summary>Gets or sets how long starting the cluster (or a node) may take before it fails.</summary>
    /// <value>The default value is 60 seconds.</value>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    internal void Validate()
    {
        var problems = new List<string>();
        if (Replicas is < 0 or > 16)
        {
            problems.Add($"Replicas is {Replicas}; it must be between 0 and 16.");
        }

        if (SynchronousReplicas < 0 || SynchronousReplicas > Replicas)
        {
            problems.Add($"SynchronousReplicas is {SynchronousReplicas}; it must be between 0 and Replicas ({Replicas}).");
        }

        if (!Enum.IsDefined(Authentication))
        {
            problems.Add($"Authentication is {(int)Authentication}, which is not a ClusterAuthentication value.");
        }

        if (StartTimeout <= TimeSpan.Zero)
        {
            problems.Add($"StartTimeout is {StartTimeout}; it must be positive.");
        }

        if (string.IsNullOrWhiteSpace(ContainerImage))
        {
            problems.Add("ContainerImage is empty.");
        }

        foreach (var (name, value) in ServerSettings)
        {
            if (string.IsNullOrWhiteSpace(name) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
            {
                problems.Add($"ServerSettings has an invalid setting name '{name}'.");
            }

            if (value is null || value.Contains('\n', StringComparison.Ordinal) || value.Contains('\r', StringComparison.Ordinal))
            {
                problems.Add($"ServerSettings['{name}'] must be a single-line value.");
            }
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid PostgresClusterOptions: " + string.Join(" ", problems));
        }
    }
}
