namespace RoutingData.Testing;

/// <summary>How the servers of a <see cref="PostgresCluster"/> authenticate clients and standbys.</summary>
public enum ClusterAuthentication
{
    /// <summary>
    /// Trust: every connection that reaches a node is accepted without a password (the default). Standbys
    /// replicate as <c>postgres</c>.
    /// </summary>
    Trust,

    /// <summary>
    /// SCRAM-SHA-256 (<c>password_encryption = scram-sha-256</c>, <c>scram-sha-256</c> in pg_hba.conf): the
    /// superuser <c>postgres</c> gets a generated password (<see cref="PostgresCluster.Password"/>), and standbys
    /// replicate as a <c>replicator</c> role with a password of its own (<see cref="PostgresCluster.ReplicationPassword"/>),
    /// read by the server tools from a <c>.pgpass</c> file.
    /// </summary>
    ScramSha256,
}
