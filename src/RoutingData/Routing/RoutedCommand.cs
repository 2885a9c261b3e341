using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Npgsql;
using RoutingData.Internal;
using RoutingData.Routing;

namespace RoutingData;

/// <summary>
/// A command that runs on the host its statement needs: a provably read-only statement on a replica, anything
/// else on the primary. Parameters, prepare, timeouts and cancellation behave as on <see cref="NpgsqlCommand"/>.
/// After executing, <see cref="LastRoute"/> says where it ran and why.
/// </summary>
public sealed class RoutedCommand : DbCommand, IRoutedExecutable
{
    private readonly NpgsqlCommand _inner = new();
    private RoutedConnection? _connection;
    private RoutedTransaction? _transaction;
    private string _commandText = string.Empty;
    private bool _prepareRequested;

    // The last classification, keyed by the CommandText instance: re-executing a command (or a Dapper query
    // whose SQL is a literal) skips even the cache lookup.
    private string? _classifiedText;
    private StatementClassification _classification;

    /// <summary>Gets or sets where this command's read may go; null defers to the connection. A SQL hint still wins.</summary>
    public ReadPreference? ReadPreference { get; set; }

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
            _inner.CommandText = _commandText;
        }
    }

    /// <inheritdoc />
    public override int CommandTimeout
    {
        get => _inner.CommandTimeout;
        set => _inner.CommandTimeout = value;
    }

    /// <inheritdoc />
    public override CommandType CommandType
    {
        get => _inner.CommandType;
        set => _inner.CommandType = value;
    }

    /// <inheritdoc />
    public override bool DesignTimeVisible
    {
        get => _inner.DesignTimeVisible;
        set => _inner.DesignTimeVisible = value;
    }

    /// <inheritdoc />
    public override UpdateRowSource UpdatedRowSource
    {
        get => _inner.UpdatedRowSource;
        set => _inner.UpdatedRowSource = value;
    }

    /// <summary>Gets the command's parameters (Npgsql parameters: positional <c>$1</c> or named <c>@name</c>).</summary>
    public new NpgsqlParameterCollection Parameters => _inner.Parameters;

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
    protected override DbParameterCollection DbParameterCollection => _inner.Parameters;

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
    public override void Cancel() => _inner.Cancel();

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
        SyncPath.Result(RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, CommandBehavior.Default, NonQuery, async: false, CancellationToken.None));

    /// <inheritdoc />
    public override Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken) =>
        RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, CommandBehavior.Default, NonQuery, async: true, cancellationToken).AsTask();

    /// <inheritdoc />
    public override object? ExecuteScalar() =>
        SyncPath.Result(RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, CommandBehavior.Default, Scalar, async: false, CancellationToken.None));

    /// <inheritdoc />
    public override Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken) =>
        RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, CommandBehavior.Default, Scalar, async: true, cancellationToken).AsTask();

    /// <summary>Executes the command and returns the Npgsql reader of the host it ran on.</summary>
    /// <returns>The reader.</returns>
    public new NpgsqlDataReader ExecuteReader() => ExecuteReader(CommandBehavior.Default);

    /// <summary>Executes the command and returns the Npgsql reader of the host it ran on.</summary>
    /// <param name="behavior">The command behaviour.</param>
    /// <returns>The reader.</returns>
    public new NpgsqlDataReader ExecuteReader(CommandBehavior behavior) =>
        SyncPath.Result(RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, behavior, Reader, async: false, CancellationToken.None));

    void IRoutedExecutable.OnRouted(in RouteInfo route) => LastRoute = route;

    /// <inheritdoc />
    protected override DbParameter CreateDbParameter() => new NpgsqlParameter();

    /// <inheritdoc />
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => ExecuteReader(behavior);

    /// <inheritdoc />
    protected override async Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken) =>
        await RoutedConnectionOrThrow().ExecuteAsync(this, Classify(), ReadPreference, behavior, Reader, async: true, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    // Static lambdas: cached delegates. They hand Npgsql's task straight through (no state machine of
    // their own) unless the command must be prepared on this physical connection first.
    private static readonly Func<RoutedCommand, NpgsqlConnection, CommandBehavior, bool, CancellationToken, ValueTask<int>> NonQuery =
        static (command, connection, _, async, ct) =>
        {
            var inner = command.Bind(connection);
            if (command.MustPrepare)
            {
                return PrepareAndRunAsync<int>(inner, async, static (c, a, t) => a ? new(c.ExecuteNonQueryAsync(t)) : new(c.ExecuteNonQuery()), ct);
            }

            return async ? new ValueTask<int>(inner.ExecuteNonQueryAsync(ct)) : new ValueTask<int>(inner.ExecuteNonQuery());
        };

    private static readonly Func<RoutedCommand, NpgsqlConnection, CommandBehavior, bool, CancellationToken, ValueTask<object?>> Scalar =
        static (command, connection, _, async, ct) =>
        {
            var inner = command.Bind(connection);
            if (command.MustPrepare)
            {
                return PrepareAndRunAsync<object?>(inner, async, static (c, a, t) => a ? new(c.ExecuteScalarAsync(t)) : new(c.ExecuteScalar()), ct);
            }

            return async ? new ValueTask<object?>(inner.ExecuteScalarAsync(ct)) : new ValueTask<object?>(inner.ExecuteScalar());
        };

    private static readonly Func<RoutedCommand, NpgsqlConnection, CommandBehavior, bool, CancellationToken, ValueTask<NpgsqlDataReader>> Reader =
        static (command, connection, behavior, async, ct) =>
        {
            var inner = command.Bind(connection);
            if (command.MustPrepare)
            {
                return PrepareAndRunReaderAsync(inner, behavior, async, ct);
            }

            return async ? new ValueTask<NpgsqlDataReader>(inner.ExecuteReaderAsync(behavior, ct)) : new ValueTask<NpgsqlDataReader>(inner.ExecuteReader(behavior));
        };

    private bool MustPrepare => _prepareRequested && !_inner.IsPrepared;

    private static async ValueTask<T> PrepareAndRunAsync<T>(NpgsqlCommand inner, bool async, Func<NpgsqlCommand, bool, CancellationToken, ValueTask<T>> run, CancellationToken cancellationToken)
    {
        // Npgsql keeps prepared statements per physical connection: a pooled connection that already has
        // this statement answers without a round trip.
        if (async)
        {
            await inner.PrepareAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            inner.Prepare();
        }

        return await run(inner, async, cancellationToken).ConfigureAwait(false);
    }

    private static async ValueTask<NpgsqlDataReader> PrepareAndRunReaderAsync(NpgsqlCommand inner, CommandBehavior behavior, bool async, CancellationToken cancellationToken)
    {
        if (async)
        {
            await inner.PrepareAsync(cancellationToken).ConfigureAwait(false);
            return await inner.ExecuteReaderAsync(behavior, cancellationToken).ConfigureAwait(false);
        }

        inner.Prepare();
        return inner.ExecuteReader(behavior);
    }

    private NpgsqlCommand Bind(NpgsqlConnection connection)
    {
        _inner.Connection = connection;
        _inner.Transaction = _connection!.CurrentTransaction?.Inner;
        return _inner;
    }

    private RoutedConnection RoutedConnectionOrThrow() =>
        _connection ?? throw new InvalidOperationException("The command has no connection.");

    private StatementClassification Classify()
    {
        var text = _commandText;
        if (!ReferenceEquals(text, _classifiedText))
        {
            // Stored procedures and whole-table commands are generated by Npgsql: never provably read-only.
            _classification = CommandType == CommandType.Text
                ? RoutedConnectionOrThrow().ReplicatedDataSource.Classifier.Classify(text)
                : StatementClassification.NonText(CommandType);
            _classifiedText = text;
        }

        return _classification;
    }
}
