using System.Text.RegularExpressions;
using Npgsql;
using RoutingData.Testing;

namespace RoutingData.Tests.Differential;

/// <summary>What a hot standby did with a statement.</summary>
internal enum StandbyVerdict
{
    /// <summary>It ran (and was rolled back).</summary>
    Ran,

    /// <summary>Refused as a write: 25006, or another "cannot … during recovery / in a read-only transaction" error.</summary>
    Refused,

    /// <summary>Any other server error: syntax, missing objects, types, conflicts.</summary>
    Failed,

    /// <summary>The client gave up (a protocol or connection problem, a client-side timeout).</summary>
    ClientError,
}

internal readonly record struct StandbyOutcome(StandbyVerdict Verdict, string? SqlState = null, string? Message = null)
{
    public override string ToString() => SqlState is null ? Verdict.ToString() : $"{Verdict} {SqlState}: {Message}";
}

/// <summary>
/// Runs statements on a hot standby, each as BEGIN; statement; ROLLBACK on one session (with a statement_timeout), and
/// says whether the standby refused it as a write. COPY goes through Npgsql's COPY API. Session state a statement may
/// leave behind (prepared statements, advisory locks, settings after a COMMIT in the text) is discarded after it
/// (DISCARD ALL), and a session the client gave up is replaced.
/// </summary>
internal sealed partial class StandbyRunner : IAsyncDisposable
{
    private readonly string _connectionString;
    private NpgsqlConnection? _connection;
    private bool _opened;

    private StandbyRunner(string connectionString)
    {
        _connectionString = connectionString;
    }

    /// <summary>Times the runner had to open a new session after the client lost the old one.</summary>
    public int Reconnects { get; private set; }

    public static StandbyRunner Create(PostgresNode standby, string searchPath)
    {
        var builder = new NpgsqlConnectionStringBuilder(standby.ConnectionString)
        {
            Pooling = false,
            CommandTimeout = 15,
            Options = $"-c statement_timeout=2000 -c lock_timeout=1000 -c search_path={searchPath.Replace(" ", string.Empty, StringComparison.Ordinal)}",
        };
        return new StandbyRunner(builder.ConnectionString);
    }

    /// <summary>
    /// Whether an error is the standby refusing to write: 25006 (read_only_sql_transaction), or an error of another code
    /// whose message says that it cannot be done during recovery or in a read-only transaction (0A000 "logical decoding
    /// cannot be used while in recovery", 55000 "recovery is in progress", XX000 "cannot assign OIDs during recovery",
    /// "cannot use serializable mode in a hot standby", …). Recovery conflicts (40001 "… conflict with recovery") are not.
    /// </summary>
    public static bool IsRefusedAsWrite(PostgresException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction)
        {
            return true;
        }

        if (exception.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.QueryCanceled or PostgresErrorCodes.DeadlockDetected)
        {
            return false;
        }

        var message = exception.MessageText;
        return message.Contains("during recovery", StringComparison.OrdinalIgnoreCase)
            || message.Contains("recovery is in progress", StringComparison.OrdinalIgnoreCase)
            || message.Contains("while in recovery", StringComparison.OrdinalIgnoreCase)
            || message.Contains("read-only transaction", StringComparison.OrdinalIgnoreCase)
            || message.Contains("hot standby", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Runs <paramref name="sql"/> in a transaction that is rolled back, then discards what it left in the session.</summary>
    public async Task<StandbyOutcome> RunAsync(string sql, CancellationToken cancellationToken)
    {
        StandbyOutcome outcome;
        try
        {
            var connection = await OpenAsync(cancellationToken);
            await ExecuteAsync(connection, "BEGIN", cancellationToken);
            await RunStatementAsync(connection, sql, cancellationToken);
            outcome = new StandbyOutcome(StandbyVerdict.Ran);
        }
        catch (PostgresException exception)
        {
            outcome = new StandbyOutcome(IsRefusedAsWrite(exception) ? StandbyVerdict.Refused : StandbyVerdict.Failed, exception.SqlState, exception.MessageText);
        }
        catch (Exception exception) when (IsClientError(exception))
        {
            await DropAsync();
            return new StandbyOutcome(StandbyVerdict.ClientError, exception.GetType().Name, exception.Message);
        }

        try
        {
            // A COMMIT in the text may have ended the transaction already: then this only warns. Npgsql gives up the
            // session after some errors (XX000 "cannot assign OIDs during recovery", 08P01): the verdict stands.
            if (_connection is { State: System.Data.ConnectionState.Open } connection)
            {
                await ExecuteAsync(connection, "ROLLBACK", cancellationToken);
                await ExecuteAsync(connection, "DISCARD ALL", cancellationToken);
            }
        }
        catch (Exception exception) when (exception is PostgresException || IsClientError(exception))
        {
            await DropAsync();
        }

        return outcome;
    }

    private static bool IsClientError(Exception exception) =>
        exception is NpgsqlException or InvalidOperationException or NotSupportedException or ArgumentException or IOException or TimeoutException;

    public async ValueTask DisposeAsync() => await DropAsync();

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_connection is { State: System.Data.ConnectionState.Open } open)
        {
            return open;
        }

        await DropAsync();
        if (_opened)
        {
            Reconnects++;
        }

        _opened = true;
        var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        _connection = connection;
        return connection;
    }

    private async Task DropAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
        }
    }

    private static async Task RunStatementAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        if (!CopyStatement().IsMatch(sql))
        {
            await ExecuteAsync(connection, sql, cancellationToken);
            return;
        }

        var binary = BinaryWord().IsMatch(sql);
        if (StdinWord().IsMatch(sql))
        {
            if (binary)
            {
                var stream = await connection.BeginRawBinaryCopyAsync(sql, cancellationToken);
                await stream.CancelAsync();
                await stream.DisposeAsync();
                return;
            }

            var writer = await connection.BeginTextImportAsync(sql, cancellationToken);
            await ((NpgsqlCopyTextWriter)writer).CancelAsync();
            await writer.DisposeAsync();
            return;
        }

        if (binary)
        {
            var stream = await connection.BeginRawBinaryCopyAsync(sql, cancellationToken);
            await using (stream)
            {
                var buffer = new byte[8192];
                while (await stream.ReadAsync(buffer, cancellationToken) > 0)
                {
                }
            }

            return;
        }

        using var reader = await connection.BeginTextExportAsync(sql, cancellationToken);
        await reader.ReadToEndAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
#pragma warning disable CA2100 // Running generated SQL is the point.
        await using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [GeneratedRegex(@"^\s*(?:(?:/\*.*?\*/|--[^\r\n]*)\s*)*copy\b", RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex CopyStatement();

    [GeneratedRegex(@"\bstdin\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex StdinWord();

    [GeneratedRegex(@"\bbinary\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BinaryWord();
}
