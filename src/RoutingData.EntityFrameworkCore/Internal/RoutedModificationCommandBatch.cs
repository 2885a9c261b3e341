using System.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Update;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Update.Internal;
using RoutingData.Consistency;

namespace RoutingData.EntityFrameworkCore.Internal;

#pragma warning disable EF1001 // Npgsql's batch is public but marked internal API; this extends it, pinned to the provider version.

/// <summary>
/// Npgsql's modification batch, reading through RoutingData's reader: the provider reads per-statement row counts from
/// an <see cref="NpgsqlDataReader"/>, which a command outside a transaction does not hand out as such (its reader hides
/// the session's capture). Row counts come from the Npgsql reader underneath; rows and result sets through the wrapper.
/// </summary>
internal sealed class RoutedModificationCommandBatch(ModificationCommandBatchFactoryDependencies dependencies, int maxBatchSize)
    : NpgsqlModificationCommandBatch(dependencies, maxBatchSize)
{
    protected override void Consume(RelationalDataReader reader)
    {
        if (reader.DbDataReader is CapturingDataReader capturing)
        {
            RoutingData.Internal.SyncPath.Wait(ConsumeRoutedAsync(reader, capturing.Inner, async: false, CancellationToken.None));
        }
        else
        {
            base.Consume(reader);
        }
    }

    protected override Task ConsumeAsync(RelationalDataReader reader, CancellationToken cancellationToken = default) =>
        reader.DbDataReader is CapturingDataReader capturing
            ? ConsumeRoutedAsync(reader, capturing.Inner, async: true, cancellationToken).AsTask()
            : base.ConsumeAsync(reader, cancellationToken);

    private async ValueTask ConsumeRoutedAsync(RelationalDataReader reader, NpgsqlDataReader inner, bool async, CancellationToken cancellationToken)
    {
        var commandIndex = 0;
        try
        {
            bool? onResultSet = null;
            while (commandIndex < ModificationCommands.Count)
            {
                var command = ModificationCommands[commandIndex];
                if (ResultSetMappings[commandIndex].HasFlag(ResultSetMapping.HasResultRow))
                {
                    if (!(async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read()))
                    {
                        await ThrowAsync(reader, commandIndex, async, cancellationToken).ConfigureAwait(false);
                    }

                    if (command.RowsAffectedColumn is { } rowsAffectedColumn && reader.DbDataReader.GetInt32(OutputOrdinal(command, rowsAffectedColumn)) != 1)
                    {
                        await ThrowAsync(reader, commandIndex, async, cancellationToken).ConfigureAwait(false);
                    }

                    command.PropagateResults(reader);
                    commandIndex++;
                    onResultSet = async ? await reader.DbDataReader.NextResultAsync(cancellationToken).ConfigureAwait(false) : reader.DbDataReader.NextResult();
                    continue;
                }

#pragma warning disable CS0618 // Statements is the per-statement view of the batch RoutingData sent (its DbBatch API is not reachable from here).
                var rows = inner.Statements[commandIndex].RecordsAffected;
#pragma warning restore CS0618
                if (rows != 1 && command.StoreStoredProcedure is null)
                {
                    await ThrowAsync(reader, commandIndex, async, cancellationToken).ConfigureAwait(false);
                }

                commandIndex++;
            }

            if (onResultSet == true)
            {
                Dependencies.UpdateLogger.UnexpectedTrailingResultSetWhenSaving();
            }
        }
        catch (Exception e) when (e is not DbUpdateException and not OperationCanceledException)
        {
            if (commandIndex == ModificationCommands.Count)
            {
                commandIndex--;
            }

            throw new DbUpdateException(RelationalStrings.UpdateStoreException, e, ModificationCommands[commandIndex].Entries);
        }
    }

    private ValueTask ThrowAsync(RelationalDataReader reader, int commandIndex, bool async, CancellationToken cancellationToken)
    {
        if (async)
        {
            return new ValueTask(ThrowAggregateUpdateConcurrencyExceptionAsync(reader, commandIndex, 1, 0, cancellationToken));
        }

        ThrowAggregateUpdateConcurrencyException(reader, commandIndex, 1, 0);
        return ValueTask.CompletedTask;
    }

    /// <summary>The ordinal of a stored procedure's rows-affected output among its output columns.</summary>
    private static int OutputOrdinal(IReadOnlyModificationCommand command, IColumnBase rowsAffectedColumn)
    {
        var ordinal = -1;
        foreach (var modification in command.ColumnModifications)
        {
            if (modification.Column is IStoreStoredProcedureParameter { Direction: ParameterDirection.Output or ParameterDirection.InputOutput })
            {
                ordinal++;
            }

            if (modification.Column == rowsAffectedColumn)
            {
                break;
            }
        }

        return ordinal;
    }
}
