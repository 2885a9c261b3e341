namespace RoutingData.Testing.Consistency;

/// <summary>
/// A database access stack under test (RoutingData, raw Npgsql, Npgsql multi-host, pgpool-II, …): it hands out one
/// client per logical session, the unit whose read-your-writes and monotonic reads the checker judges.
/// </summary>
public interface IConsistencySystem : IAsyncDisposable
{
    /// <summary>Gets a short name for reports.</summary>
    string Name { get; }

    /// <summary>Creates the client of one session.</summary>
    /// <param name="session">The session's number.</param>
    /// <returns>The client.</returns>
    IConsistencyClient CreateClient(int session);
}

/// <summary>One session's access to the key-value table <c>kv(k int primary key, version bigint)</c>.</summary>
public interface IConsistencyClient
{
    /// <summary>Increments the version of <paramref name="key"/> and returns the committed version.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The version written and where it ran.</returns>
    Task<OperationResult> WriteAsync(int key, CancellationToken cancellationToken);

    /// <summary>Reads the version of <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The version read and where it ran.</returns>
    Task<OperationResult> ReadAsync(int key, CancellationToken cancellationToken);
}

/// <summary>What one operation returned.</summary>
/// <param name="Version">The key's version written or read.</param>
/// <param name="Host">The server that answered (<c>host:port</c>), as far as the system can tell.</param>
/// <param name="FromReplica">Whether a replica answered.</param>
public readonly record struct OperationResult(long Version, string Host, bool FromReplica);
