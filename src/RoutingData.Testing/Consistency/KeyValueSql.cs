namespace RoutingData.Testing.Consistency;

/// <summary>The workload's statements; each also says which server answered, so every system is judged alike.</summary>
public static class KeyValueSql
{
    // inet_server_port() is STABLE: proxies that send VOLATILE function calls to the primary (pgpool-II does)
    // still load-balance these statements, so attributing the answer does not change the routing.

    /// <summary>Increments a key's version: parameter <c>@k</c>; returns version and server port.</summary>
    public const string Write = "UPDATE kv SET version = version + 1 WHERE k = @k RETURNING version, inet_server_port()";

    /// <summary>Reads a key's version: parameter <c>@k</c>; returns version and server port.</summary>
    public const string Read = "SELECT version, inet_server_port() FROM kv WHERE k = @k";

    /// <summary>Runs one of the statements on an open command and reads its single row.</summary>
    /// <param name="command">A command with <c>@k</c> set.</param>
    /// <param name="cluster">The cluster, to tell replicas from the primary by the answering port.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The result.</returns>
    public static async Task<OperationResult> ExecuteAsync(System.Data.Common.DbCommand command, PostgresCluster cluster, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException("The key does not exist; run KeyValueSql setup first.");
            }

            var port = reader.GetInt32(1);
            var node = cluster.Nodes.FirstOrDefault(n => n.Port == port);
            return new OperationResult(reader.GetInt64(0), node is null ? "?:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{node.Address}:{node.Port}", node?.Role == NodeRole.Standby);
        }
    }
}
