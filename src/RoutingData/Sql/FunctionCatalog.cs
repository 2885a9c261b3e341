using Npgsql;

namespace RoutingData.Sql;

/// <summary>
/// Decides what a function call may do. Precedence: user overrides (writing beats read-only) &gt; built-in deny lists
/// &gt; pg_proc knowledge (when loaded) &gt; built-in read-only allow-list &gt; <see cref="FunctionClass.Unknown"/>.
/// Names are compared exactly as stored in pg_proc; unquoted names are folded to lower case first, as PostgreSQL does.
/// Overrides are plain function names (as stored in pg_proc) and apply in every schema. Immutable once built.
/// </summary>
internal sealed class FunctionCatalog
{
    /// <summary>Longest name looked up; PostgreSQL truncates identifiers at 63 bytes, so longer ones are simply unknown.</summary>
    private const int MaxNameLength = 128;

    // Objects made by initdb have OIDs below FirstNormalObjectId (16384): anything above came later, from a user or
    // an extension, even when it was installed into pg_catalog (adminpack's pg_file_write).
    // An aggregate's own provolatile means nothing (CREATE AGGREGATE always records IMMUTABLE): what it does is what its
    // support functions do, so it counts as VOLATILE when any of them is.
    private const string PgProcQuery =
        "SELECT n.nspname, p.proname, "
        + "CASE WHEN p.prokind = 'a' AND EXISTS (SELECT FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc f ON f.oid IN "
        + "(a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn) "
        + "WHERE a.aggfnoid = p.oid AND f.provolatile = 'v') THEN 'v'::\"char\" ELSE p.provolatile END, "
        + "p.oid < 16384 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace";

    private static readonly FunctionNameTable Deny = BuildDenyTable();
    private static readonly FunctionNameTable DenyNotVolatile = BuildTable(BuiltinFunctions.WritingNotVolatile, FunctionClass.Writing);
    private static readonly FunctionNameTable Allow = BuildTable(BuiltinFunctions.ReadOnly, FunctionClass.ReadOnly);

    // Unqualified names: every source merged once, in precedence order, so a lookup is one probe.
    private readonly FunctionNameTable _unqualified;
    private readonly FunctionNameTable _overrides;

    // "schema.name" from pg_proc, for schema-qualified calls; null without pg_proc knowledge.
    private readonly FunctionNameTable? _qualified;

    private FunctionCatalog(FunctionNameTable overrides, FunctionNameTable? procByName, FunctionNameTable? procByQualifiedName)
    {
        _overrides = overrides;
        _qualified = procByQualifiedName;
        _unqualified = new FunctionNameTable(Allow.Count + (procByName?.Count ?? 0));
        foreach (var name in BuiltinFunctions.ReadOnly)
        {
            _unqualified.Set(name, BuiltinFunctions.HasWritingPrefix(name) ? FunctionClass.Writing : FunctionClass.ReadOnly);
        }

        procByName?.CopyTo(_unqualified, applyWritingPrefixes: true);
        Deny.CopyTo(_unqualified, applyWritingPrefixes: false);
        overrides.CopyTo(_unqualified, applyWritingPrefixes: false);
        _unqualified.ForEachNotReadOnly(name =>
        {
            var key = FilterKey(name[0], name[^1], name.Length);
            _notReadOnlyFilter[key >> 6] |= 1UL << key;
        });
    }

    // A 256-bit filter over (first letter, last letter, length) of every name that is not read-only: most names after a
    // "." (columns) miss it and skip the table lookup. Letters are folded, so quoted names are filtered conservatively.
    private readonly ulong[] _notReadOnlyFilter = new ulong[4];

    /// <summary>
    /// False when <paramref name="name"/> (unqualified, as written) is certainly read-only or unknown: not in the table as
    /// anything else and not under a writing prefix. True means "look it up".
    /// </summary>
    public bool MayBeNotReadOnly(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return true;
        }

        var first = (char)(name[0] | 0x20);
        if ((first == 'p' || first == 'b') && name.Length >= 13)
        {
            return true; // Could be under a writing prefix (pg_stat_reset…, pg_replication_origin_…, binary_upgrade_…).
        }

        var key = FilterKey(name[0], name[^1], name.Length);
        return (_notReadOnlyFilter[key >> 6] & (1UL << key)) != 0;
    }

    private static int FilterKey(char first, char last, int length) =>
        (((first | 0x20) * 31) + ((last | 0x20) * 7) + length) & 255;

    /// <summary>True when built from pg_proc rows (FromPgProc or <see cref="LoadAsync"/>).</summary>
    public bool IsLoadedFromServer => _qualified is not null;

    /// <summary>The built-in allow-list and deny lists only: anything else is <see cref="FunctionClass.Unknown"/>.</summary>
    public static FunctionCatalog CreateDefault(IEnumerable<string> readOnlyOverrides, IEnumerable<string> writingOverrides) =>
        new(BuildOverrides(readOnlyOverrides, writingOverrides), null, null);

    /// <summary>
    /// From pg_proc rows, where a function counts as built in when it lives in pg_catalog, information_schema or pg_toast;
    /// see the overload with a built-in flag.
    /// </summary>
    public static FunctionCatalog FromPgProc(
        IEnumerable<(string Schema, string Name, char Volatility)> rows,
        IEnumerable<string> readOnlyOverrides,
        IEnumerable<string> writingOverrides)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return FromPgProc(rows.Select(r => (r.Schema, r.Name, r.Volatility, IsSystemSchema(r.Schema))), readOnlyOverrides, writingOverrides);
    }

    /// <summary>
    /// From pg_proc rows: a name with any VOLATILE overload that is not built in (made by initdb) is
    /// <see cref="FunctionClass.Volatile"/> — it may write and may change session state; a name that exists only as a
    /// built-in or only non-volatile is read-only (the built-in deny lists still apply); a name not there is unknown.
    /// </summary>
    public static FunctionCatalog FromPgProc(
        IEnumerable<(string Schema, string Name, char Volatility, bool BuiltIn)> rows,
        IEnumerable<string> readOnlyOverrides,
        IEnumerable<string> writingOverrides)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var byName = new FunctionNameTable(4096);
        var byQualifiedName = new FunctionNameTable(4096);
        foreach (var (schema, name, volatility, builtIn) in rows)
        {
            if (string.IsNullOrEmpty(schema) || string.IsNullOrEmpty(name))
            {
                continue;
            }

            // Anything but immutable or stable counts as volatile: an unexpected value must not make a function read-only.
            var volatileUserFunction = volatility is not ('i' or 's') && !builtIn;
            Merge(byName, name, volatileUserFunction);
            Merge(byQualifiedName, string.Concat(schema, ".", name), volatileUserFunction);
        }

        return new FunctionCatalog(BuildOverrides(readOnlyOverrides, writingOverrides), byName, byQualifiedName);
    }

    /// <summary>Loads pg_proc with one query over an open connection, then builds the catalog as FromPgProc does.</summary>
    public static async Task<FunctionCatalog> LoadAsync(
        NpgsqlConnection connection,
        IEnumerable<string> readOnlyOverrides,
        IEnumerable<string> writingOverrides,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var rows = new List<(string, string, char, bool)>(4096);
        var command = new NpgsqlCommand(PgProcQuery, connection);
        await using (command.ConfigureAwait(false))
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    // provolatile is the one-byte "char" type, which Npgsql reads as System.Char.
                    rows.Add((reader.GetString(0), reader.GetString(1), reader.GetFieldValue<char>(2), reader.GetBoolean(3)));
                }
            }
        }

        return FromPgProc(rows, readOnlyOverrides, writingOverrides);
    }

    /// <summary>
    /// Classifies a call of <paramref name="name"/>, optionally qualified by <paramref name="schema"/> (empty when not).
    /// Both are already unquoted; a part that was not quoted is folded to lower case as PostgreSQL folds identifiers.
    /// </summary>
    public FunctionClass Classify(ReadOnlySpan<char> name, ReadOnlySpan<char> schema, bool nameQuoted = false, bool schemaQuoted = false)
    {
        if (name.IsEmpty || name.Length > MaxNameLength || schema.Length > MaxNameLength)
        {
            return FunctionClass.Unknown;
        }

        var key = nameQuoted ? name : FoldCase(name, stackalloc char[name.Length]);
        if (schema.IsEmpty)
        {
            if (_unqualified.TryGetValue(key, out var known))
            {
                return known;
            }

            return BuiltinFunctions.HasWritingPrefix(key) ? FunctionClass.Writing : FunctionClass.Unknown;
        }

        Span<char> qualified = stackalloc char[schema.Length + 1 + key.Length];
        var schemaKey = schemaQuoted ? schema : FoldCase(schema, qualified);
        schemaKey.CopyTo(qualified);
        qualified[schema.Length] = '.';
        key.CopyTo(qualified[(schema.Length + 1)..]);
        return ClassifyQualified(key, qualified[..schema.Length], qualified);
    }

    /// <summary>
    /// <see cref="Classify"/> for an unqualified, unquoted <paramref name="name"/> as written (not yet folded): the
    /// classifier's common case, looked up without copying the name.
    /// </summary>
    public FunctionClass ClassifyUnquoted(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxNameLength)
        {
            return FunctionClass.Unknown;
        }

        if (_unqualified.TryGetValue(name, fold: true, out var known))
        {
            return known;
        }

        return BuiltinFunctions.HasWritingPrefixIgnoringCase(name) ? FunctionClass.Writing : FunctionClass.Unknown;
    }

    /// <summary>
    /// Whether a call of <paramref name="name"/> (as stored in pg_proc), classified <paramref name="kind"/>, may run while
    /// a statement is only planned (EXPLAIN): the planner folds IMMUTABLE calls and runs STABLE ones to estimate, never
    /// VOLATILE ones. Read-only calls do not matter; user VOLATILE functions and the VOLATILE built-ins of the deny lists
    /// never run; built-ins that are not VOLATILE (txid_current, pg_walfile_name, …), functions named in the overrides
    /// (their volatility is not known here) and unknown ones may.
    /// </summary>
    public bool MayRunWhenPlanned(FunctionClass kind, ReadOnlySpan<char> name) => kind switch
    {
        FunctionClass.ReadOnly or FunctionClass.Volatile => false,
        FunctionClass.Writing or FunctionClass.SessionState =>
            _overrides.TryGetValue(name, out _) || DenyNotVolatile.TryGetValue(name, out _) || !(Deny.TryGetValue(name, out _) || BuiltinFunctions.HasWritingPrefix(name)),
        _ => true,
    };

    /// <summary>ASCII lower case into <paramref name="buffer"/>, as PostgreSQL folds unquoted identifiers in UTF-8.</summary>
    internal static ReadOnlySpan<char> FoldCase(ReadOnlySpan<char> text, Span<char> buffer)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            buffer[i] = c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c;
        }

        return buffer[..text.Length];
    }

    private FunctionClass ClassifyQualified(ReadOnlySpan<char> name, ReadOnlySpan<char> schema, ReadOnlySpan<char> qualified)
    {
        if (_overrides.TryGetValue(name, out var known) || Deny.TryGetValue(name, out known))
        {
            return known;
        }

        if (BuiltinFunctions.HasWritingPrefix(name))
        {
            return FunctionClass.Writing;
        }

        if (_qualified is not null && _qualified.TryGetValue(qualified, out known))
        {
            return known;
        }

        // The allow-list describes pg_catalog: my_schema.lower(x) may be anything.
        return schema.SequenceEqual("pg_catalog") && Allow.TryGetValue(name, out known) ? known : FunctionClass.Unknown;
    }

    private static bool IsSystemSchema(string schema) => schema is "pg_catalog" or "information_schema" or "pg_toast";

    private static void Merge(FunctionNameTable table, string key, bool volatileUserFunction)
    {
        if (volatileUserFunction || !table.TryGetValue(key, out _))
        {
            table.Set(key, volatileUserFunction ? FunctionClass.Volatile : FunctionClass.ReadOnly);
        }
    }

    private static FunctionNameTable BuildOverrides(IEnumerable<string> readOnlyOverrides, IEnumerable<string> writingOverrides)
    {
        ArgumentNullException.ThrowIfNull(readOnlyOverrides);
        ArgumentNullException.ThrowIfNull(writingOverrides);
        var table = new FunctionNameTable();
        foreach (var name in readOnlyOverrides)
        {
            if (!string.IsNullOrEmpty(name))
            {
                table.Set(name, FunctionClass.ReadOnly);
            }
        }

        // Added second so that a name in both lists is writing.
        foreach (var name in writingOverrides)
        {
            if (!string.IsNullOrEmpty(name))
            {
                table.Set(name, FunctionClass.Writing);
            }
        }

        return table;
    }

    private static FunctionNameTable BuildDenyTable()
    {
        var table = BuildTable(BuiltinFunctions.Writing, FunctionClass.Writing);
        foreach (var name in BuiltinFunctions.SessionState)
        {
            table.Set(name, FunctionClass.SessionState);
        }

        return table;
    }

    private static FunctionNameTable BuildTable(string[] names, FunctionClass value)
    {
        var table = new FunctionNameTable(names.Length);
        foreach (var name in names)
        {
            table.Set(name, value);
        }

        return table;
    }
}
