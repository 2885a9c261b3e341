using System.Collections;
using System.Collections.ObjectModel;
using System.Data;
using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace RoutingData.Consistency;

/// <summary>
/// Hands the user's results over unchanged and hides the trailing capture result: when the user moves past the
/// last result (or closes the reader), it reads the captured LSN and reports it; with background capture it marks
/// the command finished when it closes. Delegates everything else.
/// </summary>
internal sealed class CapturingDataReader : DbDataReader
{
    private readonly NpgsqlDataReader _inner;
    private readonly CaptureTarget _target;
    private readonly RoutedConnection? _closeOwner;
    private readonly RoutedConnection? _owner;
    private Routing.IRoutedExecutable? _executable;
    private bool _captured;
    private bool _exhausted;
    private bool _finished;
    private bool _holdsSession;

    private CapturingDataReader(NpgsqlDataReader inner, CaptureTarget target, RoutedConnection? owner, RoutedConnection? closeOwner)
    {
        _inner = inner;
        _target = target;
        _owner = owner;
        _closeOwner = closeOwner;
    }

    /// <summary>The Npgsql reader underneath (its per-statement row counts, for EF Core's SaveChanges); read results through the wrapper.</summary>
    internal NpgsqlDataReader Inner => _inner;

    public override int FieldCount => _exhausted ? 0 : _inner.FieldCount;

    public override int VisibleFieldCount => FieldCount;

    public override bool HasRows => !_exhausted && _inner.HasRows;

    public override bool IsClosed => _inner.IsClosed;

    public override int RecordsAffected => _inner.RecordsAffected;

    public override int Depth => 0;

    public override object this[int ordinal] => _inner[ordinal];

    public override object this[string name] => _inner[name];

    /// <summary>Wraps a reader positioned on its first result; if that is already the capture, the user's statement returned no rows.</summary>
    public static async ValueTask<CapturingDataReader> CreateAsync(NpgsqlDataReader inner, CaptureTarget target, RoutedConnection? owner, RoutedConnection? closeOwner, Routing.IRoutedExecutable? executable, bool async, CancellationToken cancellationToken)
    {
        CapturingDataReader? reader = null;
        try
        {
            // A stale replica's results must reach nobody; any other error must not leave the reader open either.
            await BatchExecutor.CheckFreshnessAsync(inner, target, async, cancellationToken).ConfigureAwait(false);
            reader = new CapturingDataReader(inner, target, owner, closeOwner) { _executable = target.Role == HostRole.Replica ? executable : null };
            if (target.HoldsSessionWhileOpen)
            {
                // What the command wrote may have committed while its rows are read (INSERT … RETURNING): until the
                // reader closes, this session's reads go to the primary.
                target.Session!.BeginPrimaryCommand();
                reader._holdsSession = true;
            }
            else if (target.MarksCompletion && target.Role == HostRole.Replica)
            {
                // The read's snapshot exists once its first result arrives: mark the replica now, not only at close,
                // so a concurrent read of the session cannot go to a replica behind what this reader shows.
                target.Complete();
            }

            owner?.OnReaderOpened(reader);
            if (LsnCapture.IsCaptureResult(inner))
            {
                await reader.ConsumeCaptureAsync(async, cancellationToken).ConfigureAwait(false);
            }

            return reader;
        }
        catch
        {
            if (reader is not null)
            {
                // Closing marks the session (the command may have committed) and releases what it holds.
                try
                {
                    await reader.DisposeAsync().ConfigureAwait(false);
                }
#pragma warning disable CA1031 // The original error is the one to report.
                catch (Exception)
#pragma warning restore CA1031
                {
                }
            }
            else if (async)
            {
                await inner.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                inner.Dispose();
            }

            throw;
        }
    }

    public override bool Read()
    {
        try
        {
            return !_exhausted && _inner.Read();
        }
        catch (PostgresException e) when (IsRefusedWrite(e))
        {
            throw Refused(e);
        }
    }

    public override Task<bool> ReadAsync(CancellationToken cancellationToken) =>
        _exhausted ? Task.FromResult(false) : _executable is null ? _inner.ReadAsync(cancellationToken) : ReadCheckedAsync(cancellationToken);

    public override bool NextResult() => Internal.SyncPath.Result(NextResultCoreAsync(async: false, CancellationToken.None));

    public override Task<bool> NextResultAsync(CancellationToken cancellationToken) => NextResultCoreAsync(async: true, cancellationToken).AsTask();

    public override void Close() => Internal.SyncPath.Wait(CloseCoreAsync(async: false));

    public override Task CloseAsync() => CloseCoreAsync(async: true).AsTask();

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await CloseCoreAsync(async: true).ConfigureAwait(false);
        }
        finally
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }

    public override bool GetBoolean(int ordinal) => _inner.GetBoolean(ordinal);

    public override byte GetByte(int ordinal) => _inner.GetByte(ordinal);

    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length) => _inner.GetBytes(ordinal, dataOffset, buffer, bufferOffset, length);

    public override char GetChar(int ordinal) => _inner.GetChar(ordinal);

    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length) => _inner.GetChars(ordinal, dataOffset, buffer, bufferOffset, length);

    public override string GetDataTypeName(int ordinal) => _inner.GetDataTypeName(ordinal);

    public override DateTime GetDateTime(int ordinal) => _inner.GetDateTime(ordinal);

    public override decimal GetDecimal(int ordinal) => _inner.GetDecimal(ordinal);

    public override double GetDouble(int ordinal) => _inner.GetDouble(ordinal);

    public override Type GetFieldType(int ordinal) => _inner.GetFieldType(ordinal);

    public override float GetFloat(int ordinal) => _inner.GetFloat(ordinal);

    public override Guid GetGuid(int ordinal) => _inner.GetGuid(ordinal);

    public override short GetInt16(int ordinal) => _inner.GetInt16(ordinal);

    public override int GetInt32(int ordinal) => _inner.GetInt32(ordinal);

    public override long GetInt64(int ordinal) => _inner.GetInt64(ordinal);

    public override string GetName(int ordinal) => _inner.GetName(ordinal);

    public override int GetOrdinal(string name) => _inner.GetOrdinal(name);

    public override string GetString(int ordinal) => _inner.GetString(ordinal);

    public override object GetValue(int ordinal) => _inner.GetValue(ordinal);

    public override int GetValues(object[] values) => _inner.GetValues(values);

    public override bool IsDBNull(int ordinal) => _inner.IsDBNull(ordinal);

    public override Task<bool> IsDBNullAsync(int ordinal, CancellationToken cancellationToken) => _inner.IsDBNullAsync(ordinal, cancellationToken);

    public override T GetFieldValue<T>(int ordinal) => _inner.GetFieldValue<T>(ordinal);

    public override Task<T> GetFieldValueAsync<T>(int ordinal, CancellationToken cancellationToken) => _inner.GetFieldValueAsync<T>(ordinal, cancellationToken);

    public override Stream GetStream(int ordinal) => _inner.GetStream(ordinal);

    public override TextReader GetTextReader(int ordinal) => _inner.GetTextReader(ordinal);

    public override Type GetProviderSpecificFieldType(int ordinal) => _inner.GetProviderSpecificFieldType(ordinal);

    public override object GetProviderSpecificValue(int ordinal) => _inner.GetProviderSpecificValue(ordinal);

    public override int GetProviderSpecificValues(object[] values) => _inner.GetProviderSpecificValues(values);

    public override DataTable? GetSchemaTable() => _exhausted ? null : _inner.GetSchemaTable();

    public override Task<ReadOnlyCollection<DbColumn>> GetColumnSchemaAsync(CancellationToken cancellationToken = default) => _inner.GetColumnSchemaAsync(cancellationToken);

    public override IEnumerator GetEnumerator() => new DbEnumerator(this, closeReader: false);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                Close();
            }
            finally
            {
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private async Task<bool> ReadCheckedAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (IsRefusedWrite(e))
        {
            throw Refused(e);
        }
    }

    /// <summary>A standby refused the statement part-way (rows had streamed): it writes, and can no longer be re-run unseen.</summary>
    private bool IsRefusedWrite(PostgresException e) => _executable is not null && Routing.StandbyRefusal.Is(e, out _);

    private ReplicaRefusedWriteException Refused(PostgresException e)
    {
        Routing.StandbyRefusal.Is(e, out var wrote);
        _executable!.OnRefusedByStandby(e, wrote);
        return new ReplicaRefusedWriteException(
            $"The replica refused the statement as a write (25006) after its first rows had been read, so it could not be re-run on the primary unseen; nothing was written. It goes to the primary from now on: run it again. ({e.MessageText})",
            e);
    }

    private async ValueTask<bool> NextResultCoreAsync(bool async, CancellationToken cancellationToken)
    {
        if (_exhausted)
        {
            return false;
        }

        bool more;
        try
        {
            more = async ? await _inner.NextResultAsync(cancellationToken).ConfigureAwait(false) : _inner.NextResult();
        }
        catch (PostgresException e) when (IsRefusedWrite(e))
        {
            throw Refused(e);
        }

        if (more && LsnCapture.IsCaptureResult(_inner))
        {
            await ConsumeCaptureAsync(async, cancellationToken).ConfigureAwait(false);
            return false;
        }

        _exhausted |= !more;
        return more;
    }

    private async ValueTask CloseCoreAsync(bool async)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        try
        {
            // Closing early still has to reach the capture, or the token would miss this command.
            while (!_captured && !_exhausted && !_inner.IsClosed)
            {
                await NextResultCoreAsync(async, CancellationToken.None).ConfigureAwait(false);
            }

            if (async)
            {
                await _inner.CloseAsync().ConfigureAwait(false);
            }
            else
            {
                _inner.Close();
            }
        }
        finally
        {
            // Only now has everything the batch did finished (its implicit transaction commits at the end) — or failed
            // after part of it may have committed: either way the session must wait for a later capture.
            if (_target.MarksCompletion)
            {
                _target.Complete();
            }
            else if (_target.CapturesPosition && !_captured)
            {
                _target.Failed();
            }

            if (_holdsSession)
            {
                _holdsSession = false;
                _target.Session!.EndPrimaryCommand();
            }

            _owner?.OnReaderClosed(this);

            if (_closeOwner is { State: ConnectionState.Open })
            {
                if (async)
                {
                    await _closeOwner.CloseAsync().ConfigureAwait(false);
                }
                else
                {
                    _closeOwner.Close();
                }
            }
        }
    }

    private async ValueTask ConsumeCaptureAsync(bool async, CancellationToken cancellationToken)
    {
        var hasRow = async ? await _inner.ReadAsync(cancellationToken).ConfigureAwait(false) : _inner.Read();
        if (hasRow)
        {
            _target.ApplyCapture(_inner);
        }

        _captured = true;
        _exhausted = true;
    }
}
