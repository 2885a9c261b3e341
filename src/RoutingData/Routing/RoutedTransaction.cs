using System.Data;
using System.Data.Common;
using Npgsql;
using RoutingData.Topology;

namespace RoutingData;

/// <summary>
/// A transaction pinned to one host for its whole life: the primary for read-write transactions, a replica
/// (or the primary, made read-only) for <see cref="RoutedConnection.BeginReadOnlyTransactionAsync"/>.
/// </summary>
public sealed class RoutedTransaction : DbTransaction
{
    private readonly RoutedConnection _connection;

    internal RoutedTransaction(RoutedConnection connection, NpgsqlTransaction inner, HostRuntime host, HostRole role, IsolationLevel isolationLevel)
    {
        _connection = connection;
        Inner = inner;
        Host = host;
        Role = role;
        IsolationLevel = isolationLevel;
    }

    /// <summary>Gets the isolation level.</summary>
    public override IsolationLevel IsolationLevel { get; }

    /// <summary>Gets the role of the host the transaction runs on.</summary>
    public HostRole Role { get; }

    /// <summary>Gets the host the transaction runs on, as <c>host:port</c>.</summary>
    public string HostName => Host.Endpoint.Name;

    /// <summary>Gets a value indicating that savepoints are supported.</summary>
    public override bool SupportsSavepoints => true;

    internal NpgsqlTransaction Inner { get; }

    internal HostRuntime Host { get; }

    /// <inheritdoc />
    protected override DbConnection DbConnection => _connection;

    /// <inheritdoc />
    public override void Commit()
    {
        Inner.Commit();
        _connection.OnTransactionCompleted(this);
    }

    /// <inheritdoc />
    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        await Inner.CommitAsync(cancellationToken).ConfigureAwait(false);
        _connection.OnTransactionCompleted(this);
    }

    /// <inheritdoc />
    public override void Rollback()
    {
        Inner.Rollback();
        _connection.OnTransactionCompleted(this);
    }

    /// <inheritdoc />
    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        await Inner.RollbackAsync(cancellationToken).ConfigureAwait(false);
        _connection.OnTransactionCompleted(this);
    }

    /// <inheritdoc />
    public override void Save(string savepointName) => Inner.Save(savepointName);

    /// <inheritdoc />
    public override Task SaveAsync(string savepointName, CancellationToken cancellationToken = default) => Inner.SaveAsync(savepointName, cancellationToken);

    /// <inheritdoc />
    public override void Rollback(string savepointName) => Inner.Rollback(savepointName);

    /// <inheritdoc />
    public override Task RollbackAsync(string savepointName, CancellationToken cancellationToken = default) => Inner.RollbackAsync(savepointName, cancellationToken);

    /// <inheritdoc />
    public override void Release(string savepointName) => Inner.Release(savepointName);

    /// <inheritdoc />
    public override Task ReleaseAsync(string savepointName, CancellationToken cancellationToken = default) => Inner.ReleaseAsync(savepointName, cancellationToken);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Inner.Dispose();
            _connection.OnTransactionCompleted(this);
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await Inner.DisposeAsync().ConfigureAwait(false);
        _connection.OnTransactionCompleted(this);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
