using RoutingData.Testing.Consistency;

namespace RoutingData.ConsistencyCheck;

/// <summary>
/// RoutingData under the checker: one consistency session per checker session, a new connection per operation. With
/// <paramref name="carryTokens"/>, every operation is a request of its own: it resumes the session from the token the
/// previous one exported (as a web app carries it in a cookie or header), and exports it again.
/// </summary>
public sealed class RoutingDataSystem(ReplicatedDataSource dataSource, RoutingData.Testing.PostgresCluster cluster, string name = "RoutingData", bool carryTokens = false) : IConsistencySystem
{
    public string Name { get; } = name;

    public IConsistencyClient CreateClient(int session) => new Client(dataSource, cluster, carryTokens ? null : new ConsistencySession());

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();

    private sealed class Client(ReplicatedDataSource dataSource, RoutingData.Testing.PostgresCluster cluster, ConsistencySession? session) : IConsistencyClient
    {
        private string? _token;

        public Task<OperationResult> WriteAsync(int key, CancellationToken cancellationToken) => RunAsync(KeyValueSql.Write, key, cancellationToken);

        public Task<OperationResult> ReadAsync(int key, CancellationToken cancellationToken) => RunAsync(KeyValueSql.Read, key, cancellationToken);

        private async Task<OperationResult> RunAsync(string sql, int key, CancellationToken cancellationToken)
        {
            var requestSession = session ?? dataSource.ResumeSession(_token);
            OperationResult result;
            await using (var connection = dataSource.CreateConnection(requestSession))
            {
                await connection.OpenAsync(cancellationToken);
                await using var command = connection.CreateCommand();
                command.CommandText = sql;
                command.Parameters.AddWithValue("k", key);
                result = await KeyValueSql.ExecuteAsync(command, cluster, cancellationToken);
            }

            if (session is null)
            {
                _token = await dataSource.ExportSessionAsync(requestSession, cancellationToken);
            }

            return result;
        }
    }
}
