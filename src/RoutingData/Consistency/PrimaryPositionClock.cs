using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using RoutingData.Topology;

namespace RoutingData.Consistency;

/// <summary>
/// Captures the primary's WAL insert position for every session at once, off the commands' path
/// (<see cref="LsnCaptureMode.Background"/>). A reading whose query <em>started</em> after a command was acknowledged
/// is at or past that command's commit record: the commit was inserted before the acknowledgement left the server,
/// and the insert position never goes back. So a command only records when it was acknowledged and asks for a
/// reading; one reading covers every command acknowledged before it started, however many sessions wrote.
/// </summary>
/// <remarks>
/// Readings are kept in a ring, so a session resolves to the <em>first</em> reading after its command — not the
/// latest, which under a steady write load would always be ahead of every replica. Readings are immutable objects:
/// a reader racing the writer sees an older or a newer reading, never a torn one.
/// </remarks>
internal sealed class PrimaryPositionClock : IAsyncDisposable
{
    private const string CaptureSql = "SELECT pg_catalog.pg_current_wal_insert_lsn()";
    private const int RingSize = 1024;

    private readonly Func<ClusterSnapshot> _snapshot;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly Reading?[] _ring = new Reading?[RingSize];
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _startLock = new();
    private readonly object _publishLock = new();
    private TaskCompletionSource _published = NewSignal();
    private long _publishedCount;
    private long _demand;
    private int _signaled;
    private int _disposed;
    private long _captures;
    private Task? _loop;

    public PrimaryPositionClock(Func<ClusterSnapshot> snapshot, TimeSpan interval, TimeSpan timeout, TimeProvider timeProvider, ILogger logger)
    {
        _snapshot = snapshot;
        _interval = interval;
        _timeout = timeout;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>How many capture queries ran (coalescing shows as far fewer than the commands they covered).</summary>
    public long Captures => Interlocked.Read(ref _captures);

    /// <summary>A timestamp on the clock readings are compared with.</summary>
    public long Now() => _timeProvider.GetTimestamp();

    /// <summary>Asks for a reading that starts after <paramref name="acknowledgedAt"/>. Costs an interlocked max and, when the loop sleeps, a release.</summary>
    public void Demand(long acknowledgedAt)
    {
        Internal.InterlockedMax.Raise(ref _demand, acknowledgedAt);
        if (Volatile.Read(ref _disposed) != 0)
        {
            return; // A command finishing while the data source is disposed: nobody will read its position.
        }

        if (Volatile.Read(ref _loop) is null)
        {
            StartLoop();
        }

        // Read first: under a write load the loop is usually signalled already, and the exchange would bounce the line.
        if (Volatile.Read(ref _signaled) == 0 && Interlocked.Exchange(ref _signaled, 1) == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (ObjectDisposedException)
            {
                // Lost the race with DisposeAsync: as above.
            }
        }
    }

    /// <summary>The first kept reading that started after <paramref name="since"/>; false when there is none yet.</summary>
    public bool TryResolve(long since, out ulong lsn, out ulong systemIdentifier)
    {
        if (TryResolve(since, out var reading))
        {
            (lsn, systemIdentifier) = (reading.Lsn, reading.SystemIdentifier);
            return true;
        }

        (lsn, systemIdentifier) = (0, 0);
        return false;
    }

    /// <summary>The first kept reading that started after <paramref name="since"/> (with the primary's timeline); false when there is none yet.</summary>
    public bool TryResolve(long since, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Reading? found)
    {
        var count = Volatile.Read(ref _publishedCount);
        found = null;

        // Newest first: the wanted reading is almost always among the last few.
        for (var i = count - 1; i >= 0 && i >= count - RingSize; i--)
        {
            var reading = Volatile.Read(ref _ring[i % RingSize]);
            if (reading is null || reading.StartedAt <= since)
            {
                break;
            }

            found = reading;
        }

        return found is not null;
    }

    /// <summary>
    /// Waits until a reading covers <paramref name="since"/> or <paramref name="timeout"/> passes. Synchronous callers
    /// (ADO.NET's sync API) block on the background reading instead of running their own.
    /// </summary>
    public async ValueTask<bool> WaitAsync(long since, TimeSpan timeout, bool async, CancellationToken cancellationToken)
    {
        var deadline = Now() + (long)(timeout.TotalSeconds * _timeProvider.TimestampFrequency);
        while (true)
        {
            var published = Volatile.Read(ref _published);
            if (TryResolve(since, out _, out _))
            {
                return true;
            }

            Demand(since);
            var remaining = deadline - Now();
            if (remaining <= 0)
            {
                return false;
            }

            var wait = TimeSpan.FromSeconds((double)remaining / _timeProvider.TimestampFrequency);
            try
            {
                if (async)
                {
                    await published.Task.WaitAsync(wait, _timeProvider, cancellationToken).ConfigureAwait(false);
                }
                else if (!published.Task.Wait(wait, cancellationToken))
                {
                    return TryResolve(since, out _, out _);
                }
            }
            catch (TimeoutException)
            {
                return TryResolve(since, out _, out _);
            }
        }
    }

    /// <summary>
    /// Takes a reading now on the caller's path (an export that cannot wait for the background) and publishes it for
    /// everyone; null when no primary is known.
    /// </summary>
    public async ValueTask<Reading?> CaptureNowAsync(bool async, CancellationToken cancellationToken)
    {
        var snapshot = _snapshot();
        if (snapshot.Primary is not { } primary)
        {
            return null;
        }

        var startedAt = Now();
        var connection = async
            ? await primary.Host.InternalDataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false)
            : primary.Host.InternalDataSource.OpenConnection();
        try
        {
            using var command = new NpgsqlCommand(CaptureSql, connection);
            var value = async ? await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) : command.ExecuteScalar();
            Interlocked.Increment(ref _captures);
            if (value is not NpgsqlLogSequenceNumber lsn)
            {
                return null;
            }

            var reading = new Reading(startedAt, CaptureTarget.WithoutPageHeader((ulong)lsn, primary.WalBlockSize, primary.WalSegmentSize), snapshot.SystemIdentifier, primary.Timeline);
            Publish(reading);
            primary.Host.AdvanceKnownLsn(reading.Lsn, startedAt);
            return reading;
        }
        finally
        {
            if (async)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                connection.Dispose();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stopping.Dispose();
        _wake.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void StartLoop()
    {
        lock (_startLock)
        {
            if (_loop is null && !_stopping.IsCancellationRequested)
            {
                _loop = Task.Run(RunAsync);
            }
        }
    }

    /// <summary>Publishes a reading taken by a query that started at <paramref name="startedAt"/>.</summary>
    internal void Publish(long startedAt, ulong lsn, ulong systemIdentifier, int timeline = 0) => Publish(new Reading(startedAt, lsn, systemIdentifier, timeline));

    private void Publish(Reading reading)
    {
        // Rare (at most one per interval, plus exports), so a lock is fine here; it keeps the ring in start order, which
        // TryResolve's newest-first scan relies on, and a slot is written before the count that exposes it.
        lock (_publishLock)
        {
            var count = _publishedCount;
            if (count > 0 && _ring[(count - 1) % RingSize]!.StartedAt >= reading.StartedAt)
            {
                return; // A later-started reading is out already; it covers everything this one would.
            }

            Volatile.Write(ref _ring[count % RingSize], reading);
            Volatile.Write(ref _publishedCount, count + 1);
        }

        Interlocked.Exchange(ref _published, NewSignal()).TrySetResult();
    }

    private async Task RunAsync()
    {
        var stopping = _stopping.Token;
        long lastStart = 0;
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(stopping).ConfigureAwait(false);

                // A full fence before reading the demand: a Demand that raced this reset signals again.
                Interlocked.Exchange(ref _signaled, 0);

                while (Volatile.Read(ref _demand) >= lastStart)
                {
                    // Coalesce: every command acknowledged during the interval is covered by the next reading.
                    var wait = lastStart + (long)(_interval.TotalSeconds * _timeProvider.TimestampFrequency) - Now();
                    if (wait > 0)
                    {
                        await Task.Delay(TimeSpan.FromSeconds((double)wait / _timeProvider.TimestampFrequency), _timeProvider, stopping).ConfigureAwait(false);
                    }

                    var start = Now();
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                    timeout.CancelAfter(_timeout);
                    if (await CaptureNowAsync(async: true, timeout.Token).ConfigureAwait(false) is null)
                    {
                        break; // No primary known: the demand stays uncovered; the next Demand (or waiter) tries again.
                    }

                    // Only a reading that made it out moves the mark: after a failure, the same demand is retried.
                    lastStart = start;
                    failures = 0;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Whatever failed, the loop must live on: sessions depend on it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                // Commands still route safely meanwhile: an unresolved session reads from the primary.
                failures++;
                _logger.PositionCaptureFailed(failures, e.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 10 * failures)), _timeProvider, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                // Demand is still uncovered: go round again.
                if (Interlocked.Exchange(ref _signaled, 1) == 0)
                {
                    _wake.Release();
                }
            }
        }
    }

    /// <summary>A reading of the primary's insert position by a query that started at <see cref="StartedAt"/>, on the primary's <see cref="Timeline"/>.</summary>
    internal sealed record Reading(long StartedAt, ulong Lsn, ulong SystemIdentifier, int Timeline);
}
