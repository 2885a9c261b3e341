using RoutingData.Testing.Consistency;

namespace RoutingData.ConsistencyCheck;

/// <summary>RoutingData under the checker: one consistency session per checker session, a new connection per operation.</summary>
public sealed class RoutingDataSystem(ReplicatedDataSource dataSource, RoutingData.Testing.PostgresCluster cluster, string name = "RoutingData") : IConsistencySystem
{
    public string Name { get; } = name;

    public IConsistencyClient CreateClient(int session) => new Client(dataSource, cluster, new ConsistencySession());

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();

    private sealed class Client(ReplicatedDataSource dataSource, RoutingData.Testing.PostgresCluster cluster, ConsistencySession session) : IConsistencyClient
    {
        public Task<OperationResult> WriteAsync(int key, CancellationToken cancellationToken) => RunAsync(KeyValueSql.Write, key, cancellationToken);

        public Task<OperationResult> ReadAsync(int key, CancellationToken cancellationToken) => RunAsync(KeyValueSql.Read, key, cancellationToken);

        private async Task<OperationResult> RunAsync(string sql, int key, CancellationToken cancellationToken)
        {
            await using var connection = dataSource.CreateConnection(session);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("k", key);
            return await KeyValueSql.ExecuteAsync(command, cluster, cancellationToken);
        }
    }
}
