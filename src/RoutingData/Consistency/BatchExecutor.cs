using System.Data;
using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace RoutingData.Consistency;

/// <summary>
/// Runs a routed batch — the user's statements, then (for a consistency session, outside a transaction) one capture
/// statement behind an error barrier — in one round trip, and feeds the captured WAL position to the session.
/// Without a capture it hands Npgsql's task straight through.
/// </summary>
internal static class BatchExecutor
{

    /// <summary>Removes what an earlier execution added (a leading check, a trailing capture): the batch holds the user's commands again.</summary>
    public static void Strip(NpgsqlBatch batch, NpgsqlBatchCommand? check, NpgsqlBatchCommand? primaryCapture, NpgsqlBatchCommand? replicaCapture, ref NpgsqlBatchCommand? barrierSetOn)
    {
        // The barrier was ours (see Arrange): the user's command gets its own setting back.
        if (barrierSetOn is not null)
        {
            barrierSetOn.AppendErrorBarrier = false;
            barrierSetOn = null;
        }

        var commands = batch.BatchCommands;
        if (commands.Count > 0 && check is not null && commands[0] == check)
        {
            commands.RemoveAt(0);
        }

        if (commands.Count > 0 && (commands[^1] == primaryCapture || commands[^1] == replicaCapture))
        {
            commands.RemoveAt(commands.Count - 1);
        }
    }

    /// <summary>Makes the batch [check?] + [user commands…] + [capture?] for this execution.</summary>
    public static void Arrange(NpgsqlBatch batch, in CaptureTarget capture, ref NpgsqlBatchCommand? check, ref NpgsqlBatchCommand? primaryCapture, ref NpgsqlBatchCommand? replicaCapture, ref NpgsqlBatchCommand? barrierSetOn)
    {
        Strip(batch, check, primaryCapture, replicaCapture, ref barrierSetOn);
        if (!capture.IsActive)
        {
            return;
        }

        var commands = batch.BatchCommands;
        if (capture.CapturesPosition)
        {
            // For a write, the barrier (a Sync) after the last user statement commits it before the capture runs:
            // captured any earlier, the insert position would be behind the commit record. Reads need no barrier.
            var last = commands[^1];
            if (capture.NeedsBarrier && last.AppendErrorBarrier != true)
            {
                last.AppendErrorBarrier = true;
                barrierSetOn = last;
            }

            var sql = capture.Sql;
            var statement = capture.Role == HostRole.Primary
                ? primaryCapture ??= new NpgsqlBatchCommand(sql)
                : replicaCapture ??= new NpgsqlBatchCommand(sql);
            if (!ReferenceEquals(statement.CommandText, sql))
            {
                statement.CommandText = sql; // A read and a write on the primary capture differently.
            }

            commands.Add(statement);
        }

        if (capture.RequiredReplayLsn != 0)
        {
            commands.Insert(0, check ??= new NpgsqlBatchCommand(LsnCapture.CheckSql));
        }
    }

    public static async ValueTask<T> PrepareThenAsync<T>(NpgsqlBatch batch, Routing.ExecutionRequest request, Func<NpgsqlBatch, Routing.ExecutionRequest, ValueTask<T>> run)
    {
        // Npgsql keeps prepared statements per physical connection: statements already prepared there cost no round trip.
        if (request.Async)
        {
            await batch.PrepareAsync(request.CancellationToken).ConfigureAwait(false);
        }
        else
        {
            batch.Prepare();
        }

        return await run(batch, request).ConfigureAwait(false);
    }

    public static ValueTask<int> NonQueryAsync(NpgsqlBatch batch, CaptureTarget capture, bool async, CancellationToken cancellationToken)
    {
        if (!capture.IsActive || (!capture.CapturesPosition && capture.RequiredReplayLsn == 0))
        {
            return async ? new ValueTask<int>(batch.ExecuteNonQueryAsync(cancellationToken)) : new ValueTask<int>(batch.ExecuteNonQuery());
        }

        return NonQueryWithCaptureAsync(batch, capture, async, cancellationToken);
    }

    public static ValueTask<object?> ScalarAsync(NpgsqlBatch batch, CaptureTarget capture, bool async, CancellationToken cancellationToken)
    {
        if (!capture.IsActive || (!capture.CapturesPosition && capture.RequiredReplayLsn == 0))
        {
            return async ? new ValueTask<object?>(batch.ExecuteScalarAsync(cancellationToken)) : new ValueTask<object?>(batch.ExecuteScalar());
        }

        return ScalarWithCaptureAsync(batch, capture, async, cancellationToken);
    }

    public static async ValueTask<DbDataReader> ReaderAsync(NpgsqlBatch batch, Routing.ExecutionRequest request)
    {
        var (behavior, capture, owner, async, cancellationToken) = (request.Behavior, request.Capture, request.Owner, request.Async, request.CancellationToken);
        // CloseConnection must close the routed connection (returning every physical one), not one physical
        // connection under it: the wrapper does that when the reader closes.
        var closeOwner = (behavior & CommandBehavior.CloseConnection) != 0 ? owner : null;
        behavior &= ~CommandBehavior.CloseConnection;
        if ((!capture.IsActive || (!capture.CapturesPosition && capture.RequiredReplayLsn == 0 && !capture.MarksCompletion)) && closeOwner is null)
        {
            return async ? await batch.ExecuteReaderAsync(behavior, cancellationToken).ConfigureAwait(false) : batch.ExecuteReader(behavior);
        }

        if (capture.CapturesPosition)
        {
            // SingleResult/SingleRow would let Npgsql skip the capture; the wrapper hides it instead.
            behavior &= ~(CommandBehavior.SingleResult | CommandBehavior.SingleRow);
        }

        var reader = async ? await batch.ExecuteReaderAsync(behavior, cancellationToken).ConfigureAwait(false) : batch.ExecuteReader(behavior);
        return await CapturingDataReader.CreateAsync(reader, capture, owner, closeOwner, request.Executable, async, cancellationToken).ConfigureAwait(false);
    }

    private static async ValueTask<int> NonQueryWithCaptureAsync(NpgsqlBatch batch, CaptureTarget capture, bool async, CancellationToken cancellationToken)
    {
        var reader = async ? await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false) : batch.ExecuteReader();
        try
        {
            await CheckFreshnessAsync(reader, capture, async, cancellationToken).ConfigureAwait(false);
            await ConsumeAsync(reader, capture, async, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await CloseAsync(reader, async).ConfigureAwait(false);
        }

        return reader.RecordsAffected;
    }

    private static async ValueTask<object?> ScalarWithCaptureAsync(NpgsqlBatch batch, CaptureTarget capture, bool async, CancellationToken cancellationToken)
    {
        var reader = async ? await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false) : batch.ExecuteReader();
        try
        {
            await CheckFreshnessAsync(reader, capture, async, cancellationToken).ConfigureAwait(false);
            object? value = null;
            if (!LsnCapture.IsCaptureResult(reader) && reader.FieldCount > 0
                && (async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read()))
            {
                value = reader.GetValue(0);
            }

            await ConsumeAsync(reader, capture, async, cancellationToken).ConfigureAwait(false);
            return value;
        }
        finally
        {
            await CloseAsync(reader, async).ConfigureAwait(false);
        }
    }

    /// <summary>If the batch starts with a freshness check: reads it (throwing when stale) and moves to the user's first result.</summary>
    public static async ValueTask CheckFreshnessAsync(NpgsqlDataReader reader, CaptureTarget capture, bool async, CancellationToken cancellationToken)
    {
        if (capture.RequiredReplayLsn == 0 || !LsnCapture.IsCheckResult(reader))
        {
            return;
        }

        var replayed = (async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read()) && !reader.IsDBNull(0)
            ? (ulong)reader.GetFieldValue<NpgsqlLogSequenceNumber>(0)
            : 0;
        capture.Check(replayed);
        _ = async ? await reader.NextResultAsync(cancellationToken).ConfigureAwait(false) : reader.NextResult();
    }

    /// <summary>Reads through the remaining results up to and including the capture.</summary>
    private static async ValueTask ConsumeAsync(NpgsqlDataReader reader, CaptureTarget capture, bool async, CancellationToken cancellationToken)
    {
        do
        {
            if (LsnCapture.IsCaptureResult(reader))
            {
                if (async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read())
                {
                    capture.ApplyCapture(reader);
                }

                return;
            }
        }
        while (async ? await reader.NextResultAsync(cancellationToken).ConfigureAwait(false) : reader.NextResult());
    }

    private static ValueTask CloseAsync(NpgsqlDataReader reader, bool async)
    {
        if (async)
        {
            return reader.DisposeAsync();
        }

        reader.Dispose();
        return ValueTask.CompletedTask;
    }
}
