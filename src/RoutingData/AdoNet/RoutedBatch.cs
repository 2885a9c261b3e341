using System.Data;
using System.Data.Common;
using Npgsql;
using RoutingData.Internal;
using RoutingData.Consistency;
using RoutingData.Routing;
using RoutingData.Sql;

namespace RoutingData;

/// <summary>
/// A batch of statements sent in one round trip to one host: a replica only if every statement is provably
/// read-only, otherwise the primary. After executing, <see cref="LastRoute"/> says where it ran and why.
/// </summary>
public sealed class RoutedBatch : DbBatch, IRoutedExecutable
{
    private readonly NpgsqlBatch _inner = new();
    private RoutedConnection? _connection;
    private RoutedTransaction? _transaction;
    private bool _prepareRequested;
    private NpgsqlBatchCommand? _check;
    private NpgsqlBatchCommand? _barrierSetOn;
    private bool _executed;
    private NpgsqlBatchCommand? _primaryCapture;
    private NpgsqlBatchCommand? _replicaCapture;

    /// <summary>Gets or sets where the batch may go if it only reads; null defers to the connection. A SQL hint still wins.</summary>
    public ReadPreference? ReadPreference { get; set; }

    /// <summary>Gets or sets what this read batch does when no replica has caught up with its session; null defers.</summary>
    public StaleReadPolicy? StaleReadPolicy { get; set; }

    /// <summary>Gets where this batch last ran and why; null before the first execution.</summary>
    public RouteInfo? LastRoute { get; private set; }

    /// <summary>Gets the batch's commands.</summary>
    public new NpgsqlBatchCommandCollection BatchCommands => _inner.BatchCommands;

    /// <summary>
    /// Gets or sets a value indicating whether an error in one statement skips the rest (Npgsql's default) or
    /// each statement runs in its own implicit transaction.
    /// </summary>
    public bool EnableErrorBarriers
    {
        get => _inner.EnableErrorBarriers;
        set => _inner.EnableErrorBarriers = value;
    }

    /// <inheritdoc />
    public override int Timeout
    {
        get => _inner.Timeout;
        set => _inner.Timeout = value;
    }

    /// <inheritdoc />
    protected override DbBatchCommandCollection DbBatchCommands => _inner.BatchCommands;

    /// <inheritdoc />
    protected override DbConnection? DbConnection
    {
        get => _connection;
        set => _connection = value switch
        {
            null => null,
            RoutedConnection routed => routed,
            _ => throw new ArgumentException($"A RoutedBatch runs on a RoutedConnection, not a {value.GetType().Name}.", nameof(value)),
        };
    }

    /// <inheritdoc />
    protected override DbTransaction? DbTransaction
    {
        get => _transaction;
        set => _transaction = value switch
        {
            null => null,
            RoutedTransaction routed => routed,
            _ => throw new ArgumentException($"A RoutedBatch takes a RoutedTransaction, not a {value.GetType().Name}.", nameof(value)),
        };
    }

    /// <inheritdoc />
    public override void Cancel() => _inner.Cancel();

    /// <summary>Marks the batch for preparation on each physical connection it runs on.</summary>
    public override void Prepare() => _prepareRequested = true;

    /// <summary>Marks the batch for preparation on each physical connection it runs on.</summary>
    /// <param name="cancellationToken">Unused.</param>
    /// <returns>A completed task.</returns>
    public override Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        Prepare();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override int ExecuteNonQuery() =>
        SyncPath.Result(RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, CommandBehavior.Default, BatchOperations<RoutedBatch>.NonQuery, async: false, CancellationToken.None));

    /// <inheritdoc />
    public override Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken = default) =>
        RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, CommandBehavior.Default, BatchOperations<RoutedBatch>.NonQuery, async: true, cancellationToken).AsTask();

    /// <inheritdoc />
    public override object? ExecuteScalar() =>
        SyncPath.Result(RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, CommandBehavior.Default, BatchOperations<RoutedBatch>.Scalar, async: false, CancellationToken.None));

    /// <inheritdoc />
    public override Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken = default) =>
        RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, CommandBehavior.Default, BatchOperations<RoutedBatch>.Scalar, async: true, cancellationToken).AsTask();

    void IRoutedExecutable.OnRouted(in RouteInfo route) => LastRoute = route;

    /// <inheritdoc />
    protected override DbBatchCommand CreateDbBatchCommand() => new NpgsqlBatchCommand();

    /// <inheritdoc />
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) =>
        SyncPath.Result(RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, behavior, BatchOperations<RoutedBatch>.Reader, async: false, CancellationToken.None));

    /// <inheritdoc />
    protected override async Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken) =>
        await RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, behavior, BatchOperations<RoutedBatch>.Reader, async: true, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public override void Dispose()
    {
        _inner.Dispose();
        base.Dispose();
    }

    bool IRoutedExecutable.PrepareRequested => _prepareRequested;

    /// <summary>Points the batch at the chosen connection and arranges the consistency statements.</summary>
    NpgsqlBatch IRoutedExecutable.Bind(in ExecutionRequest request)
    {
        BatchExecutor.Strip(_inner, _check, _primaryCapture, _replicaCapture, ref _barrierSetOn);
        if (_executed)
        {
            var commands = _inner.BatchCommands;
            for (var i = 0; i < commands.Count; i++)
            {
                if (BatchCommandRenewal.NeedsRenewal(commands[i]))
                {
                    commands[i] = BatchCommandRenewal.Renew(commands[i]);
                }
            }
        }

        _executed = true;
        _inner.Connection = request.Connection;
        _inner.Transaction = request.Transaction;
        BatchExecutor.Arrange(_inner, request.Capture, ref _check, ref _primaryCapture, ref _replicaCapture, ref _barrierSetOn);
        return _inner;
    }

    private RoutedConnection RoutedConnectionOrThrow()
    {
        if (_transaction is { IsCompleted: true })
        {
            // Running it outside the transaction would commit it on its own: refuse, nothing sent.
            throw new InvalidOperationException("The batch's transaction is over (committed, rolled back, or rolled back after the primary changed); begin a new transaction.");
        }

        return _connection ?? throw new InvalidOperationException("The batch has no connection.");
    }

    void IRoutedExecutable.OnRefusedByStandby(PostgresException error, bool wrote)
    {
        // Npgsql names the batch command that failed: only its text is learned, not its neighbours'.
        if (error.BatchCommand is { CommandType: CommandType.Text } command && _connection is { } connection)
        {
            var classifier = connection.ReplicatedDataSource.Classifier;
            if (wrote)
            {
                classifier.LearnWrite(command.CommandText);
            }
            else
            {
                classifier.LearnPrimaryOnly(command.CommandText);
            }
        }
    }

    private StatementClassification Classify()
    {
        var classifier = RoutedConnectionOrThrow().ReplicatedDataSource.Classifier;
        var commands = _inner.BatchCommands;
        BatchExecutor.Strip(_inner, _check, _primaryCapture, _replicaCapture, ref _barrierSetOn);
        if (commands.Count == 0)
        {
            throw new InvalidOperationException("The batch has no commands.");
        }

        var combined = Classify(classifier, commands[0]);
        for (var i = 1; i < commands.Count; i++)
        {
            combined = StatementClassification.Combine(combined, Classify(classifier, commands[i]));
        }

        return combined;
    }

    private static StatementClassification Classify(StatementClassifier classifier, NpgsqlBatchCommand command) =>
        command.CommandType == CommandType.Text ? classifier.Classify(command.CommandText) : StatementClassification.NonText(command.CommandType);
}
