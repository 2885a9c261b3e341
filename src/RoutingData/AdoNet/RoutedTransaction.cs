using System.Data;
using System.Data.Common;
using Npgsql;
using RoutingData.Consistency;
using RoutingData.Internal;
using RoutingData.Topology;

namespace RoutingData;

/// <summary>
/// A transaction pinned to one host for its whole life: the primary for read-write transactions, a replica
/// (or the primary, made read-only) for <see cref="RoutedConnection.BeginReadOnlyTransactionAsync"/>.
/// </summary>
public sealed class RoutedTransaction : DbTransaction
{
    private readonly RoutedConnection _connection;
    private bool _completed;

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

    /// <summary>Gets a value indicating that the transaction is over (committed, rolled back, or abandoned after a failover).</summary>
    internal bool IsCompleted => _completed;

    internal HostRuntime Host { get; }

    /// <inheritdoc />
    protected override DbConnection DbConnection => _connection;

    /// <summary>Commits; the consistency session's position is captured with the COMMIT, in the same round trip.</summary>
    public override void Commit() => SyncPath.Wait(EndAsync("COMMIT", async: false, CancellationToken.None));

    /// <summary>Commits; the consistency session's position is captured with the COMMIT, in the same round trip.</summary>
    /// <param name="cancellationToken">Cancels the commit.</param>
    /// <returns>A task that completes when the transaction has committed.</returns>
    public override Task CommitAsync(CancellationToken cancellationToken = default) => EndAsync("COMMIT", async: true, cancellationToken).AsTask();

    /// <summary>Rolls back; what the transaction read still advances the session (monotonic reads).</summary>
    public override void Rollback() => SyncPath.Wait(EndAsync("ROLLBACK", async: false, CancellationToken.None));

    /// <summary>Rolls back; what the transaction read still advances the session (monotonic reads).</summary>
    /// <param name="cancellationToken">Cancels the rollback.</param>
    /// <returns>A task that completes when the transaction has rolled back.</returns>
    public override Task RollbackAsync(CancellationToken cancellationToken = default) => EndAsync("ROLLBACK", async: true, cancellationToken).AsTask();

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

    private async ValueTask EndAsync(string statement, bool async, CancellationToken cancellationToken)
    {
        if (_completed)
        {
            throw new InvalidOperationException("This transaction has already been committed or rolled back.");
        }

        if (statement == "COMMIT" && Role == HostRole.Primary && _connection.ReplicatedDataSource.Monitor.Snapshot.WhyNotPrimary(Host) is { } why)
        {
            // Never commit on a primary that was fenced or demoted: that commit would land on a fork nobody reads.
            await AbandonAsync(async).ConfigureAwait(false);
            throw RolledBack(why, "its COMMIT");
        }

        try
        {
            await EndCoreAsync(statement, async, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (statement == "COMMIT" && Role == HostRole.Primary && RoutedConnection.IsHostFailure(e))
        {
            throw new CommandOutcomeUnknownException(
                $"The connection to {HostName} was lost after COMMIT was sent: the transaction may or may not have been committed. It was not sent again; check before retrying. ({e.Message})",
                e);
        }
        finally
        {
            // Whatever the outcome, the connection is no longer in this transaction.
            _completed = true;
            _connection.OnTransactionCompleted(this);
        }
    }

    internal TransactionRolledBackException RolledBack(string why, string what) =>
        new($"The transaction on {HostName} was rolled back without sending {what}: {why}. Nothing of it was committed; run it again.");

    /// <summary>Rolls the transaction back where it runs (best effort: the host may be gone) and ends it, without a capture.</summary>
    internal async ValueTask AbandonAsync(bool async)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        try
        {
            if (Inner.Connection is { State: ConnectionState.Open })
            {
                if (async)
                {
                    await Inner.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    Inner.Rollback();
                }
            }
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException)
        {
            // The host may be gone: the transaction is over either way.
        }
        finally
        {
            _connection.OnTransactionCompleted(this);
        }
    }

    private async ValueTask EndCoreAsync(string statement, bool async, CancellationToken cancellationToken)
    {
        var capture = _connection.TransactionCapture(this);
        if (!capture.CapturesPosition)
        {
            var commit = statement == "COMMIT";
            try
            {
                if (async)
                {
                    await (commit ? Inner.CommitAsync(cancellationToken) : Inner.RollbackAsync(cancellationToken)).ConfigureAwait(false);
                }
                else if (commit)
                {
                    Inner.Commit();
                }
                else
                {
                    Inner.Rollback();
                }
            }
            finally
            {
                // Background capture: what the transaction wrote and read is covered by the next capture (even
                // after a failed COMMIT, which may still have committed).
                capture.Complete();
            }
        }
        else
        {
            // [COMMIT; capture] in one round trip; the barrier makes the capture run after the commit.
            using var batch = new NpgsqlBatch(Inner.Connection, Inner);
            batch.BatchCommands.Add(new NpgsqlBatchCommand(statement) { AppendErrorBarrier = true });
            batch.BatchCommands.Add(new NpgsqlBatchCommand(capture.Sql));
            try
            {
                await BatchExecutor.NonQueryAsync(batch, capture, async, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // The COMMIT may have gone through before the capture (or the connection) failed: the session waits
                // for a later capture rather than read a replica that may lack what it committed.
                capture.Failed();
                throw;
            }
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                // Disposed without Commit/Rollback (common for read-only transactions): roll back with a capture,
                // so what the transaction read still advances the session (monotonic reads).
                if (!_completed && Inner.Connection is { State: ConnectionState.Open })
                {
                    SyncPath.Wait(EndAsync("ROLLBACK", async: false, CancellationToken.None));
                }
            }
            finally
            {
                Inner.Dispose();
                _connection.OnTransactionCompleted(this);
            }
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        try
        {
            if (!_completed && Inner.Connection is { State: ConnectionState.Open })
            {
                await EndAsync("ROLLBACK", async: true, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            await Inner.DisposeAsync().ConfigureAwait(false);
            _connection.OnTransactionCompleted(this);
            _completed = true;
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}
