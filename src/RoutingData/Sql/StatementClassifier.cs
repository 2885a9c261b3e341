using System.Collections.Concurrent;

namespace RoutingData.Sql;

/// <summary>
/// Decides whether a SQL text is provably read-only (may run on a hot-standby replica) or must go to the primary.
/// Anything it does not understand goes to the primary. Results are cached per SQL text; thread-safe.
/// </summary>
internal sealed class StatementClassifier
{
    /// <summary>Longer texts (bulk INSERTs with inline values, say) are classified every time rather than kept alive by the cache.</summary>
    internal const int MaxCachedLength = 16 * 1024;

    private static int s_versions;

    private readonly ConcurrentDictionary<string, StatementClassification> _cache;
    private readonly ConcurrentDictionary<string, bool> _learned = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private int _count;
    private int _version = Interlocked.Increment(ref s_versions);

    private readonly Action<string>? _onUnknownFunction;

    public StatementClassifier(FunctionCatalog catalog, int cacheCapacity = 10_000, Action<string>? onUnknownFunction = null)
    {
        _onUnknownFunction = onUnknownFunction;
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cacheCapacity);
        Catalog = catalog;
        _capacity = cacheCapacity;
        _cache = new ConcurrentDictionary<string, StatementClassification>(StringComparer.Ordinal);
    }

    public FunctionCatalog Catalog { get; }

    /// <summary>
    /// Gets a value indicating that the server reads backslashes in plain string literals as escapes
    /// (<c>standard_conforming_strings = off</c>): the lexer does not, so a text with a backslash proves nothing.
    /// </summary>
    public bool BackslashEscapes { get; init; }

    /// <summary>How many texts the cache holds before it starts over.</summary>
    public int Capacity => _capacity;

    /// <summary>
    /// Changes whenever a classification this classifier gave may have changed (and differs between classifiers):
    /// commands that keep their last classification compare it before reusing it.
    /// </summary>
    public int Version => Volatile.Read(ref _version);

    /// <summary>
    /// Remembers that a standby refused <paramref name="sql"/> as a write (25006): whatever its text shows, from now on
    /// it goes to the primary and pins the connection (its effect could not be seen, so it may also leave session state).
    /// Kept across cache resets and handed to the classifier that replaces this one.
    /// </summary>
    public void LearnWrite(string sql) => Learn(sql, wrote: true);

    /// <summary>
    /// Remembers that a standby cannot serve <paramref name="sql"/> although it writes nothing (it reads an unlogged or
    /// temporary relation): from now on it goes to the primary, without pinning.
    /// </summary>
    public void LearnPrimaryOnly(string sql) => Learn(sql, wrote: false);

    private void Learn(string sql, bool wrote)
    {
        ArgumentNullException.ThrowIfNull(sql);
        if (sql.Length > MaxCachedLength || _learned.Count >= _capacity)
        {
            return;
        }

        _learned[sql] = wrote;
        _cache[sql] = Learned(_cache.TryGetValue(sql, out var previous) ? previous.Hint : null, wrote);
        Interlocked.Exchange(ref _version, Interlocked.Increment(ref s_versions));
    }

    /// <summary>Carries what <paramref name="previous"/> learned at run time into this classifier (a catalog reload).</summary>
    public void Inherit(StatementClassifier previous)
    {
        ArgumentNullException.ThrowIfNull(previous);
        foreach (var (sql, wrote) in previous._learned)
        {
            _learned[sql] = wrote;
        }
    }

    private static StatementClassification Learned(ReadPreference? hint, bool wrote) => wrote
        ? new(StatementKind.SessionState, hint, ClassificationReasons.RefusedByStandby)
        : new(StatementKind.Write, hint, ClassificationReasons.StandbyCannotRun);

    /// <summary>Entries in the cache now; for tests.</summary>
    internal int CachedCount => _cache.Count;

    public StatementClassification Classify(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        if (_cache.TryGetValue(sql, out var cached))
        {
            return cached;
        }

        var result = ClassifyUncached(sql, Catalog);
        if (!_learned.IsEmpty && _learned.TryGetValue(sql, out var learnedWrote))
        {
            result = Learned(result.Hint, learnedWrote);
        }
        else if (BackslashEscapes && !result.PinsSession && sql.Contains('\\', StringComparison.Ordinal))
        {
            // 'a\'; DELETE …' ends at a different quote for the server than for the lexer: nothing is proven.
            result = new StatementClassification(StatementKind.SessionState, result.Hint, ClassificationReasons.BackslashInString, result.IsMultiStatement);
        }

        if (_onUnknownFunction is not null && !result.IsRead && result.Reason.StartsWith(ClassificationReasons.UnknownFunction, StringComparison.Ordinal))
        {
            _onUnknownFunction(result.Reason);
        }

        if (sql.Length <= MaxCachedLength)
        {
            // Simple and bounded: start over when full. Racing writers may briefly overshoot by a few entries.
            if (Volatile.Read(ref _count) >= _capacity)
            {
                _cache.Clear();
                Volatile.Write(ref _count, 0);
            }

            if (_cache.TryAdd(sql, result))
            {
                Interlocked.Increment(ref _count);
            }
        }

        return result;
    }

    internal static StatementClassification ClassifyUncached(string sql, FunctionCatalog catalog) =>
        ClassifyUncached(sql, catalog, fastPath: true);

    /// <summary>
    /// <paramref name="fastPath"/> false scans queries token by token through the lexer alone: slower, and the
    /// reference that tests hold the fast path to.
    /// </summary>
    internal static StatementClassification ClassifyUncached(string sql, FunctionCatalog catalog, bool fastPath)
    {
        ArgumentNullException.ThrowIfNull(sql);
        ArgumentNullException.ThrowIfNull(catalog);
        var parser = new StatementParser(sql, catalog, fastPath);
        var statements = 0;
        var pinKind = StatementKind.Read;
        string? pinReason = null;
        string? writeReason = null;
        var readReason = ClassificationReasons.Empty;

        // A read-only transaction block: a read-only BEGIN first, then only reads, then a plain end (and nothing after it).
        var block = false;
        var blockEnded = false;
        while (parser.TryClassifyNext(out var kind, out var reason))
        {
            statements++;
            if (statements == 1)
            {
                block = kind == StatementKind.TransactionControl && parser.LastTransactionEnd == TransactionEnd.ReadOnlyBegin;
            }
            else if (block)
            {
                block = !blockEnded && (kind == StatementKind.Read || (kind == StatementKind.TransactionControl && parser.LastTransactionEnd == TransactionEnd.PlainEnd));
                blockEnded = kind == StatementKind.TransactionControl;
            }

            switch (kind)
            {
                case StatementKind.SessionState or StatementKind.TransactionControl:
                    if (pinReason is null)
                    {
                        (pinKind, pinReason) = (kind, reason);
                    }

                    break;
                case StatementKind.Write:
                    writeReason ??= reason;
                    break;
                default:
                    readReason = statements == 1 ? reason : ClassificationReasons.MultipleStatements;
                    break;
            }
        }

        var hint = parser.Hint;
        var multi = statements > 1;
        if (parser.Error is { } error)
        {
            // Where the text really ends is unknown, so nothing about it is proven.
            return new StatementClassification(StatementKind.Write, hint, error, isMultiStatement: true);
        }

        if (block && blockEnded && writeReason is null)
        {
            return new StatementClassification(StatementKind.Read, hint, ClassificationReasons.ReadOnlyTransaction, multi, isTransactionBlock: true);
        }

        if (pinReason is not null)
        {
            return new StatementClassification(pinKind, hint, pinReason, multi);
        }

        return writeReason is not null
            ? new StatementClassification(StatementKind.Write, hint, writeReason, multi)
            : new StatementClassification(StatementKind.Read, hint, readReason, multi);
    }
}
