using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Npgsql;
using RoutingData.Consistency;
using RoutingData.Internal;
using RoutingData.Routing;
using RoutingData.Sql;

namespace RoutingData;

/// <summary>
/// A command that runs on the host its statement needs: a provably read-only statement on a replica, anything
/// else on the primary. Parameters, prepare, timeouts and cancellation behave as on <see cref="NpgsqlCommand"/>.
/// After executing, <see cref="LastRoute"/> says where it ran and why.
/// </summary>
/// <remarks>
/// It is sent as an <see cref="NpgsqlBatch"/>, so that the consistency session's WAL position can be captured
/// by one more statement in the same round trip.
/// </remarks>
public sealed class RoutedCommand : DbCommand, IRoutedExecutable
{
    private readonly NpgsqlBatch _batch = new();
    private NpgsqlBatchCommand _command = new();
    private bool _commandExecuted;
    private NpgsqlBatchCommand? _check;
    private NpgsqlBatchCommand? _barrierSetOn;
    private NpgsqlBatchCommand? _primaryCapture;
    private NpgsqlBatchCommand? _replicaCapture;
    private RoutedConnection? _connection;
    private RoutedTransaction? _transaction;
    private string _commandText = string.Empty;
    private bool _prepareRequested;
    private bool _designTimeVisible = true;
    private UpdateRowSource _updatedRowSource = UpdateRowSource.Both;

    // The last classification, keyed by the CommandText instance: re-executing a command (or a Dapper query
    // whose SQL is a literal) skips even the cache lookup.
    private string? _classifiedText;
    private CommandType _classifiedType;
    private int _classifierVersion;
    private StatementClassification _classification;

    // Texts with several statements run as one batch command per statement (Npgsql takes one per batch command).
    private NpgsqlBatch? _multiBatch;
    private string? _multiText;
    private int _multiStatements;

    /// <summary>Creates a command; set <see cref="DbCommand.Connection"/> to a <see cref="RoutedConnection"/> before executing.</summary>
    public RoutedCommand() => _batch.BatchCommands.Add(_command);

    /// <summary>Gets or sets where this command's read may go; null defers to the connection. A SQL hint still wins.</summary>
    public ReadPreference? ReadPreference { get; set; }

    /// <summary>Gets or sets what this read does when no replica has caught up with its session; null defers to the scope, session and data source.</summary>
    public StaleReadPolicy? StaleReadPolicy { get; set; }

    /// <summary>Gets where this command last ran and why; null before the first execution.</summary>
    public RouteInfo? LastRoute { get; private set; }

    /// <inheritdoc />
    [AllowNull]
    public override string CommandText
    {
        get => _commandText;
        set
        {
            _commandText = value ?? string.Empty;
            _command.CommandText = _commandText;
        }
    }

    /// <inheritdoc />
    public override int CommandTimeout
    {
        get => _batch.Timeout;
        set => _batch.Timeout = value;
    }

    /// <inheritdoc />
    public override CommandType CommandType
    {
        get => _command.CommandType;
        set => _command.CommandType = value;
    }

    /// <inheritdoc />
    public override bool DesignTimeVisible
    {
        get => _designTimeVisible;
        set => _designTimeVisible = value;
    }

    /// <inheritdoc />
    public override UpdateRowSource UpdatedRowSource
    {
        get => _updatedRowSource;
        set => _updatedRowSource = value;
    }

    /// <summary>Gets the command's parameters (Npgsql parameters: positional <c>$1</c> or named <c>@name</c>).</summary>
    public new NpgsqlParameterCollection Parameters => _command.Parameters;

    /// <inheritdoc />
    protected override DbConnection? DbConnection
    {
        get => _connection;
        set => _connection = value switch
        {
            null => null,
            RoutedConnection routed => routed,
            _ => throw new ArgumentException($"A RoutedCommand runs on a RoutedConnection, not a {value.GetType().Name}.", nameof(value)),
        };
    }

    /// <inheritdoc />
    protected override DbParameterCollection DbParameterCollection => _command.Parameters;

    /// <inheritdoc />
    protected override DbTransaction? DbTransaction
    {
        get => _transaction;
        set => _transaction = value switch
        {
            null => null,
            RoutedTransaction routed => routed,
            _ => throw new ArgumentException($"A RoutedCommand takes a RoutedTransaction, not a {value.GetType().Name}.", nameof(value)),
        };
    }

    /// <summary>Cancels the command if it is running.</summary>
    public override void Cancel()
    {
        _batch.Cancel();
        _multiBatch?.Cancel();
    }

    /// <summary>Marks the command for preparation; it is prepared on each physical connection it runs on.</summary>
    public override void Prepare() => _prepareRequested = true;

    /// <summary>Marks the command for preparation; it is prepared on each physical connection it runs on.</summary>
    /// <param name="cancellationToken">Unused: preparation happens at execution.</param>
    /// <returns>A completed task.</returns>
    public override Task PrepareAsync(CancellationToken cancellationToken = default)
    {
        Prepare();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override int ExecuteNonQuery() =>
        SyncPath.Result(RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, CommandBehavior.Default, BatchOperations<RoutedCommand>.NonQuery, async: false, CancellationToken.None));

    /// <inheritdoc />
    public override Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken) =>
        RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, CommandBehavior.Default, BatchOperations<RoutedCommand>.NonQuery, async: true, cancellationToken).AsTask();

    /// <inheritdoc />
    public override object? ExecuteScalar() =>
        SyncPath.Result(RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, CommandBehavior.Default, BatchOperations<RoutedCommand>.Scalar, async: false, CancellationToken.None));

    /// <inheritdoc />
    public override Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken) =>
        RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, CommandBehavior.Default, BatchOperations<RoutedCommand>.Scalar, async: true, cancellationToken).AsTask();

    void IRoutedExecutable.OnRouted(in RouteInfo route) => LastRoute = route;

    void IRoutedExecutable.OnRefusedByStandby(PostgresException error, bool wrote)
    {
        if (CommandType == CommandType.Text && _connection is { } connection)
        {
            var classifier = connection.ReplicatedDataSource.Classifier;
            if (wrote)
            {
                classifier.LearnWrite(_commandText);
            }
            else
            {
                classifier.LearnPrimaryOnly(_commandText);
            }
        }
    }

    /// <inheritdoc />
    protected override DbParameter CreateDbParameter() => new NpgsqlParameter();

    /// <inheritdoc />
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) =>
        SyncPath.Result(RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, behavior, BatchOperations<RoutedCommand>.Reader, async: false, CancellationToken.None));

    /// <inheritdoc />
    protected override Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken) =>
        RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, StaleReadPolicy, behavior, BatchOperations<RoutedCommand>.Reader, async: true, cancellationToken).AsTask();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _batch.Dispose();
            _multiBatch?.Dispose();
        }

        base.Dispose(disposing);
    }

    bool IRoutedExecutable.PrepareRequested => _prepareRequested;

    /// <summary>Points the batch at the chosen connection and arranges the consistency statements.</summary>
    NpgsqlBatch IRoutedExecutable.Bind(in ExecutionRequest request)
    {
        var batch = _batch;
        if (_classification.IsMultiStatement && MultiStatementBatch() is { } multi)
        {
            batch = multi;
        }

        else
        {
            BatchExecutor.Strip(_batch, _check, _primaryCapture, _replicaCapture, ref _barrierSetOn);
            if (_commandExecuted && BatchCommandRenewal.NeedsRenewal(_command))
            {
                _command = BatchCommandRenewal.Renew(_command);
                _batch.BatchCommands[0] = _command;
            }

            _commandExecuted = true;
        }

        batch.Connection = request.Connection;
        batch.Transaction = request.Transaction;
        batch.Timeout = _batch.Timeout;
        BatchExecutor.Arrange(batch, request.Capture, ref _check, ref _primaryCapture, ref _replicaCapture, ref _barrierSetOn);
        return batch;
    }

    /// <summary>One batch command per statement, each with fresh copies of the parameters; null if the text cannot be split.</summary>
    private NpgsqlBatch? MultiStatementBatch()
    {
        if (!ReferenceEquals(_multiText, _commandText) || _multiBatch is null)
        {
            var statements = StatementSplitter.Split(_commandText);
            if (statements is null || statements.Count < 2)
            {
                return null;
            }

            _multiBatch?.Dispose();
            _multiBatch = new NpgsqlBatch();
            foreach (var statement in statements)
            {
                _multiBatch.BatchCommands.Add(new NpgsqlBatchCommand(statement));
            }

            (_multiText, _multiStatements) = (_commandText, statements.Count);
        }

        BatchExecutor.Strip(_multiBatch, _check, _primaryCapture, _replicaCapture, ref _barrierSetOn);

        // A parameter belongs to one collection: copy the current values into fresh statements, each execution
        // (a batch command with named parameters cannot be executed twice).
        for (var i = 0; i < _multiStatements; i++)
        {
            var statement = new NpgsqlBatchCommand(_multiBatch.BatchCommands[i].CommandText);
            foreach (NpgsqlParameter parameter in _command.Parameters)
            {
                statement.Parameters.Add(parameter.Clone());
            }

            _multiBatch.BatchCommands[i] = statement;
        }

        return _multiBatch;
    }

    private RoutedConnection RoutedConnectionOrThrow()
    {
        if (_transaction is { IsCompleted: true })
        {
            // Running it outside the transaction would commit it on its own: refuse, nothing sent.
            throw new InvalidOperationException("The command's transaction is over (committed, rolled back, or rolled back after the primary changed); begin a new transaction.");
        }

        return _connection ?? throw new InvalidOperationException("The command has no connection.");
    }

    private StatementClassification Classify()
    {
        var text = _commandText;
        var classifier = RoutedConnectionOrThrow().ReplicatedDataSource.Classifier;
        var type = CommandType;
        if (!ReferenceEquals(text, _classifiedText) || type != _classifiedType || classifier.Version != _classifierVersion)
        {
            // Stored procedures and whole-table commands are generated by Npgsql: never provably read-only.
            _classification = type == CommandType.Text ? classifier.Classify(text) : StatementClassification.NonText(type);
            (_classifiedText, _classifiedType, _classifierVersion) = (text, type, classifier.Version);
            _multiText = null;
        }

        return _classification;
    }
}
