using Dapper;
using RoutingData.Testing;
using RoutingData.Testing.Xunit;
using Xunit;
using static RoutingData.Tests.RoutingTestHelpers;

namespace RoutingData.Tests.Consistency;

/// <summary>A background job or message carries its producer's session to the consumer (another process) in its headers.</summary>
public sealed class JobSessionTests : ClusterTestBase
{
    private const string Key = "a signing key of at least thirty-two characters";
    private readonly CancellationToken _ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_job_carries_its_producers_writes_and_reads_to_the_consumer()
    {
        var cluster = await StartDedicatedClusterAsync(new() { Replicas = 2 });
        await cluster.Primary.ExecuteAsync("CREATE TABLE kv (k int primary key, v text); INSERT INTO kv VALUES (2, 'before')", _ct);
        await cluster.WaitForReplicasAsync(cancellationToken: _ct);
        foreach (var replica in cluster.Replicas)
        {
            await replica.SetReplayDelayAsync(TimeSpan.FromSeconds(30), _ct);
        }

        await using var producer = await CreateDataSourceAsync(cluster, b => b.Options.TokenSigningKey = Key);
        await using var consumer = await CreateDataSourceAsync(cluster, b => b.Options.TokenSigningKey = Key);

        // The producer writes, then reads a row someone else changed after its write (on the primary: no replica has its write).
        var session = new ConsistencySession();
        await using (var connection = producer.CreateConnection(session))
        {
            await connection.ExecuteAsync("INSERT INTO kv VALUES (1, 'queued')");
            await producer.GetSessionTokenAsync(session, _ct);
            await cluster.Primary.ExecuteAsync("UPDATE kv SET v = 'after' WHERE k = 2", _ct);
            Assert.Equal("after", await connection.QuerySingleAsync<string>("SELECT v FROM kv WHERE k = 2"));
            Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
        }

        var headers = new Dictionary<string, string> { ["message-id"] = "42" };
        await producer.AttachSessionAsync(session, headers, _ct);

        // Both positions travel, signed: what it wrote and, past it, what it read.
        var token = headers[ReplicatedDataSource.SessionHeaderName];
        Assert.Matches(@"^\d+:1:[0-9A-F]+/[0-9A-F]+:[0-9A-F]+/[0-9A-F]+\.[A-Za-z0-9_-]+$", token);

        var resumed = consumer.ResumeSessionFrom(headers);
        Assert.Equal(session.Token, resumed.Token);
        await using (var connection = consumer.CreateConnection(resumed))
        {
            Assert.Equal("queued", await connection.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 1"));
            Assert.Equal("after", await connection.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 2"));
            Assert.Equal(HostRole.Primary, connection.LastRoute!.Value.Role);
        }

        // A message without the header starts afresh (and reads the lagging replicas); a forged one is refused.
        await using (var connection = consumer.CreateConnection(consumer.ResumeSessionFrom(new Dictionary<string, string>())))
        {
            Assert.Null(await connection.QuerySingleOrDefaultAsync<string>("SELECT v FROM kv WHERE k = 1"));
            Assert.Equal(HostRole.Replica, connection.LastRoute!.Value.Role);
        }

        var forged = new Dictionary<string, string> { [ReplicatedDataSource.SessionHeaderName] = token.Split('.')[0] + ".AAAAAAAAAAAAAAAAAAAAAA" };
        Assert.Throws<ConsistencyTokenException>(() => consumer.ResumeSessionFrom(forged));

        // A session with no position yet attaches nothing (and removes a stale header).
        await producer.AttachSessionAsync(new ConsistencySession(), headers, _ct);
        Assert.False(headers.ContainsKey(ReplicatedDataSource.SessionHeaderName));
        Assert.Equal("42", headers["message-id"]);
    }
}
