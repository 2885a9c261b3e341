using System.Globalization;
using System.Text;

namespace RoutingData.Tests.Differential;

/// <summary>
/// Composes SQL texts, deterministically from a seed, out of the forms the classifier must get right: queries of every
/// shape (SELECT, VALUES, TABLE, WITH with data-modifying CTEs at several levels, set operations, subqueries, LATERAL),
/// locking clauses, SELECT INTO, EXPLAIN with every option spelling, COPY, session and transaction statements, DML with
/// RETURNING, and calls of read-only, writing and session-changing functions (built-in and the user functions of
/// <see cref="DifferentialSchema"/>) in every clause, with comments, odd case and tricky literals between and inside.
/// </summary>
/// <remarks>
/// Every expression is an int (or a text or boolean where the grammar wants one), so that most texts are valid; the
/// few that are not fail with a 42xxx error, which the test ignores. Literals and quoted names are built between
/// <see cref="Open"/> and <see cref="Close"/> so that <see cref="Render"/> leaves them alone while it changes the case of
/// everything else and puts comments, newlines and tabs between the tokens.
/// </remarks>
internal sealed class StatementGenerator
{
    /// <summary>Starts a span that <see cref="Render"/> copies as it is (a literal, a quoted name, a body).</summary>
    internal const char Open = '\u0001';

    /// <summary>Ends a span started by <see cref="Open"/>.</summary>
    internal const char Close = '\u0002';

    private const int MaxDepth = 3;

    // Calls that read only (built-in or user functions that are IMMUTABLE or STABLE). {i} is an int argument, {t} a text one.
    private static readonly string[] ReadCalls =
    [
        "abs({i})", "mod({i}, 7)", "greatest({i}, 1)", "least({i}, 100)", "coalesce({i}, 0)", "nullif({i}, -1)",
        "length(lower({t}))", "char_length({t})", "round({i}::numeric)::int", "width_bucket({i}, 0, 100, 10)",
        "strpos({t}, 'a')", "array_length(ARRAY[{i}, 2], 1)", "num_nulls({i}, NULL)", "pg_catalog.abs({i})",
        "\"abs\"({i})", "PG_CATALOG.ABS({i})", "length(md5({t}))", "(random() * 0)::int + {i}",
        "length(gen_random_uuid()::text)", "length(txid_current_snapshot()::text)", "length(current_setting('search_path'))",
        "length(version())", "pg_is_in_recovery()::int", "date_part('year', now())::int", "EXTRACT(DAY FROM now())::int",
        "length(to_char(now(), 'YYYY'))", "length(pg_last_wal_replay_lsn()::text)", "length(clock_timestamp()::text)",
        "length(pg_typeof({i})::text)", "jsonb_array_length('[1, 2]')", "length(format('%s', {i}))", "POSITION('b' IN {t})",
        "length(SUBSTRING({t} FROM 1 FOR 2))", "length(TRIM(BOTH 'x' FROM {t}))", "length(OVERLAY({t} PLACING 'x' FROM 1 FOR 1))",
        "length(current_user)", "length(current_schema())", "length(pg_sleep(0)::text)", "length(pg_export_snapshot())",
        "length(pg_catalog.lower({t}))", "length(\"lower\"({t}))", "(SELECT count(*)::int FROM generate_series(1, 3))",
        "length(quote_ident({t}))", "cardinality(ARRAY[{i}])", "length(concat_ws(',', {t}, {i}))",
        "length(pg_get_viewdef('app.item_names'::regclass))", "has_table_privilege('app.items', 'SELECT')::int",
        "length(pg_size_pretty(pg_relation_size('app.items')))", "length(COLLATION FOR ({t}))", "length(pg_current_snapshot()::text)",
        "length(pg_backend_pid()::text)", "length(lo_get(0)::text)", "length(pg_catalog.pg_sequence_last_value('app.seq')::text)",
        "f_immutable({i})", "app.f_immutable({i})", "f_stable({i})", "app.f_stable({i})", "APP.F_STABLE({i})",
        "app.\"f_stable\"({i})", "\"app\".\"f_immutable\"({i})", "\"select\"({i})", "public.\"select\"({i})",
        "app.\"CamelStable\"({i})", "\"CamelStable\"({i})", "app.dual({i})", "f_stable(x => {i})", "app.f_immutable(x := {i})",
        "(SELECT count(*)::int FROM srf_read({i}))", "(SELECT max(v) FROM app.srf_read(3) AS s(v))",
    ];

    // Calls that write, need the primary, or change the session (and calls the classifier cannot tell from those).
    private static readonly string[] WriteCalls =
    [
        "nextval('app.seq')::int", "pg_catalog.nextval('app.seq')::int", "NEXTVAL('app.seq')::int", "\"nextval\"('app.seq')::int",
        "setval('app.seq', 5)::int", "currval('app.seq')::int", "lastval()::int", "txid_current()::int",
        "length(pg_current_xact_id()::text)", "length(pg_current_wal_lsn()::text)", "length(pg_current_wal_insert_lsn()::text)",
        "length(pg_walfile_name(pg_last_wal_replay_lsn()))", "length(pg_notify('diff', {t})::text)",
        "length(lo_create(0)::text)", "length(lo_creat(-1)::text)", "lo_unlink(0)", "length(lo_from_bytea(0, 'x')::text)",
        "length(lo_put(0, 0, 'x')::text)", "pg_try_advisory_xact_lock({i})::int", "length(pg_advisory_xact_lock({i})::text)",
        "length(txid_current_if_assigned()::text)", "length(pg_current_xact_id_if_assigned()::text)", "length(pg_stat_reset()::text)",
        "length(pg_create_restore_point('diff')::text)", "length(pg_switch_wal()::text)",
        "length(pg_nextoid('pg_catalog.pg_class', 'oid', 'pg_catalog.pg_class_oid_index')::text)",
        "(SELECT count(*)::int FROM pg_logical_slot_peek_changes('diff_slot', NULL, NULL))",
        "(SELECT count(*)::int FROM pg_catalog.pg_logical_slot_peek_binary_changes('diff_slot', NULL, NULL))",
        "length(pg_logical_emit_message(false, 'diff', 'x')::text)", "length(pg_replication_origin_oid('diff')::text)",
        "gin_clean_pending_list('app.items_tags'::regclass)::int", "brin_summarize_new_values('app.items_pkey'::regclass)",
        "length(pg_import_system_collations('app'::regnamespace)::text)", "pg_cancel_backend(0)::int",
        "length(set_config('app.k', 'v', false))", "length(set_config('app.k', 'v', true))", "length(pg_advisory_lock({i})::text)",
        "pg_try_advisory_lock({i})::int", "pg_advisory_unlock({i})::int", "length(pg_advisory_unlock_all()::text)",
        "length(setseed(0.5)::text)", "f_read({i})", "f_write({i})", "app.f_write({i})", "APP.F_WRITE({i})", "\"f_write\"({i})",
        "app.\"f_write\"({i})", "f_write(x => {i})", "f_write(x := {i})", "f_next()", "app.f_next()", "f_setting()", "ovl({i})",
        "ovl({t})", "app.ovl({t})", "dual({i})", "public.dual({i})", "\"Quoted Writer\"({i})", "public.\"Quoted Writer\"({i})",
        "\"delete\"({i})", "public.\"delete\"({i})", "(SELECT count(*)::int FROM srf_write(2))",
        "(SELECT max(v) FROM app.srf_write(2) AS w(v))",
    ];

    private static readonly string[] TextLiterals =
    [
        "'x'", "'item 1'", "'DELETE FROM app.items'", "'a;DELETE FROM app.items; --'", "'it''s ; UPDATE app.items SET qty = 0'",
        "E'it\\'s ; DELETE FROM app.items'", "e'\\\\'", "E'\\n; INSERT INTO app.audit (what) VALUES (1)'",
        "$$ ; INSERT INTO app.audit (what) VALUES ('x') $$", "$tag$ $$ ; DELETE FROM app.items $$ $tag$",
        "$a1$;DROP TABLE app.items;$a1$", "$_$ ; SELECT nextval('app.seq') $_$", "U&'\\0041 ; DROP TABLE app.items'",
        "U&'d\\0061t\\+000061'", "N'nat ; DELETE'", "'FOR UPDATE'", "'/* not a comment'", "'-- not a comment'",
        "'one'\n'two'", "'SELECT * INTO x FROM y'", "'nextval(''app.seq'')'", "$x$f_write(1)$x$",
    ];

    private static readonly string[] Separators =
    [
        "\n", "\t", "  \n  ", "\r\n", "/* c */", "/**/", "/* FOR UPDATE */", "/* ; DELETE FROM app.items; */",
        "/* a /* nested ; UPDATE app.items SET qty = 0 */ b */", "-- ; DELETE FROM app.items\n", "--\n", "/* routing:replica */",
        "-- routing:primary\n", "/* $$ ' \" */", "\f", "-- a line comment ends at a carriage return\r",
    ];

    private readonly Random _random;
    private int _names;

    public StatementGenerator(int seed)
    {
        _random = new Random(seed);
    }

    /// <summary>The next statement text.</summary>
    public string Next()
    {
        _names = 0;
        var statement = Statement();

        // Npgsql's COPY API wants the text to start with COPY.
        return Render(statement, leadingComment: !statement.StartsWith("COPY", StringComparison.OrdinalIgnoreCase));
    }

    // ---------------------------------------------------------------- statements

    private string Statement()
    {
        var roll = _random.Next(100);
        return roll switch
        {
            < 36 => TopQuery(),
            < 46 => Explain(),
            < 51 => Copy(),
            < 66 => Utility(),
            < 76 => TopDml(),
            < 88 => Multiple(),
            _ => Tricky(),
        };
    }

    private string TopQuery()
    {
        var query = Query(_random.Next(1, 4), Context.Empty, 0, top: true);
        return Chance(0.08) ? $"({query})" : query;
    }

    private string Multiple()
    {
        var count = _random.Next(2, 4);
        var parts = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            parts.Add(_random.Next(10) switch
            {
                < 4 => TopQuery(),
                < 6 => Utility(allowCopy: false),
                < 8 => TopDml(),
                _ => Explain(),
            });
        }

        var text = string.Join("; ", parts);
        return Chance(0.3) ? text + ";" : text;
    }

    private string Tricky() => _random.Next(14) switch
    {
        0 => "SELECT 1 AS update, 2 AS delete, 3 AS into, 4 AS for",
        1 => $"SELECT d.{Q("update")}, d.{Q("for")} FROM {Q("delete")} d WHERE {Bool(new Context([Source.Delete("d")]), 1)}",
        2 => $"SELECT {Q("update")} FROM {Q("delete")} {Pick("", "FOR UPDATE", "FOR SHARE")}",
        3 => $"TABLE {Pick(Q("delete"), "public." + Q("delete"), "app.items", "app.item_names", "app.nodes")}",
        4 => $"SELECT {Text(Context.Empty, 0)} AS {Pick("insert", Q("delete"), "merge", "into")}",
        5 => $"SELECT i.name AS {Q("for update")} FROM app.items i",
        6 => $"{Pick("SELECT", "select", "SeLeCt")} updated, into_x, deleted_at FROM (SELECT 1 AS updated, 2 AS into_x, 3 AS deleted_at) AS insert_t {Pick("", "FOR UPDATE", "WHERE updated IS NOT NULL")}",
        7 => "SELECT $1",
        8 => $"WITH {Q("update")} AS (SELECT 1 AS x) SELECT x FROM {Q("update")}",
        9 => $"SELECT * FROM app.items i WHERE i.name = {Text(Context.Empty, 0)} {LockingClause("i")}",
        10 => $"SELECT {Call(new Context([Source.Items("i")]), 0, write: true)} FROM app.items i LIMIT 1",
        11 => $"SELECT 1 {Pick("", "FROM app.items")} {Pick("WHERE false AND", "WHERE true OR")} {Call(Context.Empty, 1, write: true)} > 0",
        12 => $"VALUES ({Call(Context.Empty, 1, write: Chance(0.5))}), ({Int(Context.Empty, 1)})",
        _ => $"SELECT {Attribute(Source.Items("i"))} FROM app.items i",
    };

    // ---------------------------------------------------------------- queries

    /// <summary>A query of <paramref name="columns"/> int columns; <paramref name="top"/> allows SELECT INTO.</summary>
    private string Query(int columns, Context outer, int depth, bool top = false)
    {
        // Aggregates and window functions of an enclosing query have no place in this one.
        outer = outer with { Aggregates = false, Windows = false };
        var roll = _random.Next(100);
        if (depth >= MaxDepth)
        {
            roll = roll < 80 ? 0 : 65;
        }

        return roll switch
        {
            < 62 => Select(columns, outer, depth, top),
            < 70 => Values(columns, outer, depth),
            < 73 when columns == 2 => Pick("TABLE app.nodes", "(TABLE app.nodes)", "table APP.NODES"),
            < 87 => With(columns, outer, depth, top),
            _ => SetOperation(columns, outer, depth),
        };
    }

    private string Values(int columns, Context context, int depth)
    {
        var rows = Enumerable.Range(0, _random.Next(1, 4)).Select(_ => $"({IntList(columns, context, depth + 1)})");
        var text = "VALUES " + string.Join(", ", rows);
        return Chance(0.2) ? text + " ORDER BY 1" + (Chance(0.5) ? " LIMIT 2" : string.Empty) : text;
    }

    private string SetOperation(int columns, Context outer, int depth)
    {
        var op = Pick("UNION", "UNION ALL", "INTERSECT", "EXCEPT", "EXCEPT ALL", "INTERSECT ALL");
        if (Chance(0.5))
        {
            return $"({Query(columns, outer, depth + 1)}) {op} ({Query(columns, outer, depth + 1)})";
        }

        var text = $"{Select(columns, outer, depth + 1, top: false, simple: true)} {op} {Select(columns, outer, depth + 1, top: false, simple: true)}";
        return Chance(0.3) ? text + " ORDER BY 1 LIMIT 3" : text;
    }

    private string With(int columns, Context outer, int depth, bool top)
    {
        var recursive = Chance(0.25);
        var ctes = new List<string>();
        var sources = new List<Source>();
        if (recursive)
        {
            var name = NewName("r");
            ctes.Add($"{name}(n) AS (SELECT 1 UNION ALL SELECT n + {Pick("1", "abs(1)", "f_immutable(1)")} FROM {name} WHERE n < 3)");
            sources.Add(new Source(name, ["n"], [], false));
        }

        var count = _random.Next(1, 3);
        for (var i = 0; i < count; i++)
        {
            var name = NewName("c");
            var materialized = Pick(string.Empty, string.Empty, "MATERIALIZED ", "NOT MATERIALIZED ");

            // Data-modifying CTEs: allowed at the top level only (PostgreSQL refuses them deeper with 0A000), made anyway.
            var dml = Chance(depth == 0 ? 0.2 : 0.07);
            var withSoFar = new Context([.. outer.Sources], [.. outer.Ctes, .. sources]);
            var body = dml ? Dml(1, withSoFar, depth + 1) : Query(1, withSoFar, depth + 1);
            var columnList = dml || Chance(0.5) ? "(x)" : string.Empty;
            ctes.Add($"{name}{columnList} AS {materialized}({(columnList.Length == 0 ? AliasFirstColumn(body) : body)})");
            sources.Add(new Source(name, ["x"], [], false));
        }

        var inner = new Context(outer.Sources, [.. outer.Ctes, .. sources]);
        // A data-modifying main query makes a data-modifying WITH: refused below the top level (0A000), made anyway.
        var main = Chance(depth == 0 ? 0.2 : 0.03) ? Dml(columns, inner, depth)
            : Chance(0.15) ? $"({Select(columns, inner, depth + 1)})"
            : Select(columns, inner, depth, top);
        return $"WITH {(recursive ? "RECURSIVE " : string.Empty)}{string.Join(", ", ctes)} {main}";
    }

    /// <summary>A CTE body without a column list must name its column x: wrapped in a SELECT that does.</summary>
    private static string AliasFirstColumn(string body) => $"SELECT * FROM ({body}) AS q(x)";

    private string Select(int columns, Context outer, int depth, bool top = false, bool simple = false)
    {
        var builder = new StringBuilder("SELECT ");
        var (from, sources) = Chance(0.9) ? FromList(outer, depth) : (string.Empty, new List<Source>());
        var context = new Context([.. outer.Sources, .. sources], outer.Ctes);
        var aggregate = Chance(0.2);
        var distinct = Chance(0.08);
        if (distinct)
        {
            builder.Append("DISTINCT ");
        }

        var targetContext = aggregate ? context with { Aggregates = true } : context with { Windows = true };
        for (var i = 0; i < columns; i++)
        {
            if (i > 0)
            {
                builder.Append(", ");
            }

            builder.Append(Int(targetContext, depth + 1));
            if (Chance(0.25))
            {
                builder.Append(" AS ").Append(Pick("a", "update", "delete", "into", "for", "insert", "merge", Q("select"), "x" + i.ToString(CultureInfo.InvariantCulture)));
            }
        }

        var into = top && Chance(0.06);
        if (into)
        {
            builder.Append(" INTO ").Append(Pick("", "TEMP ", "TEMPORARY ", "UNLOGGED ", "TEMP TABLE ", "TABLE ")).Append(NewName("new_"));
        }

        if (from.Length > 0)
        {
            builder.Append(" FROM ").Append(from);
        }

        if (Chance(0.55))
        {
            builder.Append(" WHERE ").Append(Bool(context, depth + 1));
        }

        if (aggregate)
        {
            if (Chance(0.5) && sources.Count > 0 && Column(context) is { } column)
            {
                builder.Append(" GROUP BY ").Append(Pick(column, $"ROLLUP ({column})", $"CUBE ({column})", $"GROUPING SETS (({column}), ())", $"{column}, ROLLUP ({column})"));
            }

            if (Chance(0.3))
            {
                builder.Append(" HAVING ").Append(Int(context with { Aggregates = true }, depth + 1)).Append(" > ").Append(_random.Next(-1, 3));
            }
        }

        if (simple)
        {
            return builder.ToString();
        }

        if (!aggregate && Chance(0.05) && from.Length > 0)
        {
            builder.Append(" WINDOW w AS (ORDER BY ").Append(Int(context, MaxDepth)).Append(')');
        }

        if (Chance(0.35))
        {
            // A constant integer (-2 too) would be a position in the select list: + 0 makes it an expression.
            builder.Append(" ORDER BY ").Append(distinct || Chance(0.2) ? "1" : $"{Int(aggregate ? context with { Aggregates = true } : context, depth + 1)} + 0");
            builder.Append(Pick("", "", " DESC", " ASC NULLS FIRST", " DESC NULLS LAST", " USING <"));
        }

        var limit = Chance(0.25);
        if (limit)
        {
            builder.Append(" LIMIT ").Append(Chance(0.15) ? "ALL" : Int(new Context([], outer.Ctes), depth + 1));
        }

        if (Chance(0.08))
        {
            builder.Append(" OFFSET ").Append(Int(new Context([], outer.Ctes), depth + 1)).Append(Pick("", " ROWS"));
        }
        else if (!limit && Chance(0.05))
        {
            builder.Append(" FETCH ").Append(Pick("FIRST", "NEXT")).Append(' ').Append(Pick("1", "(2 + 1)", $"({Call(Context.Empty, depth + 1, write: Chance(0.4))})")).Append(" ROWS ONLY");
        }

        if (!aggregate && Chance(0.12) && sources.Count > 0)
        {
            builder.Append(' ').Append(LockingClause(Pick([.. sources.Select(s => s.Alias)])));
        }

        return builder.ToString();
    }

    private string LockingClause(string alias)
    {
        var strength = Pick("FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE", "for update", "FOR\nUPDATE", "FOR NO\tKEY UPDATE");
        var of = Chance(0.3) ? " OF " + alias : string.Empty;
        return strength + of + Pick("", "", " NOWAIT", " SKIP LOCKED");
    }

    private (string Sql, List<Source> Sources) FromList(Context outer, int depth)
    {
        var sources = new List<Source>();
        var builder = new StringBuilder(FromItem(outer, sources, depth, lateral: false));
        var more = Chance(0.35) ? 1 : 0;
        for (var i = 0; i < more; i++)
        {
            var visible = new Context([.. outer.Sources, .. sources], outer.Ctes);
            var join = Pick(", ", " JOIN ", " INNER JOIN ", " LEFT JOIN ", " RIGHT JOIN ", " FULL JOIN ", " CROSS JOIN ", " LEFT JOIN LATERAL ", " CROSS JOIN LATERAL ", ", LATERAL ");
            var lateral = join.Contains("LATERAL", StringComparison.Ordinal);
            var before = sources.Count;
            var item = FromItem(lateral ? visible : outer, sources, depth, lateral);
            builder.Append(join).Append(item);
            var needsOn = join.Contains("JOIN", StringComparison.Ordinal) && !join.Contains("CROSS", StringComparison.Ordinal);
            if (needsOn)
            {
                var both = new Context([.. outer.Sources, .. sources], outer.Ctes);
                builder.Append(" ON ").Append(sources.Count > before && Chance(0.8) ? Bool(both, depth + 1) : "true");
            }
        }

        return (builder.ToString(), sources);
    }

    private string FromItem(Context context, List<Source> sources, int depth, bool lateral)
    {
        // LATERAL takes a subquery or a function, not a table.
        var roll = lateral ? _random.Next(60, 100) : depth >= MaxDepth ? _random.Next(40) : _random.Next(100);
        if (roll < 40)
        {
            var alias = NewName("t");
            var (table, source) = _random.Next(10) switch
            {
                < 4 => ("app.items", Source.Items(alias)),
                < 6 => ("app.orders", new Source(alias, ["id", "item_id", "amount"], ["coalesce(#.note, '')"], false)),
                < 7 => ("app.nodes", new Source(alias, ["id", "parent"], [], false)),
                < 8 => ("app.item_names", new Source(alias, ["id"], ["#.name"], false)),
                < 9 => ("app.item_totals", new Source(alias, ["item_id", "total"], [], false)),
                _ => (Pick(Q("delete"), "public." + Q("delete")), Source.Delete(alias)),
            };
            if (source.IsItems && Chance(0.15))
            {
                // No alias: the table's own name qualifies its columns (and its row, for attribute notation).
                sources.Add(Source.Items("items"));
                return Pick("app.items", "items", "ONLY app.items");
            }

            sources.Add(source);
            var sample = source.IsItems && Chance(0.08)
                ? $" TABLESAMPLE {Pick("SYSTEM", "BERNOULLI")} (100){(Chance(0.5) ? $" REPEATABLE ({Int(Context.Empty, depth + 1)})" : string.Empty)}"
                : string.Empty;
            return $"{table} {Pick("", "AS ")}{alias}{sample}";
        }

        if (roll < 55 && context.Ctes.Count > 0)
        {
            var cte = Pick([.. context.Ctes]);
            var alias = NewName("t");
            sources.Add(cte with { Alias = alias });
            return $"{cte.Alias} {alias}";
        }

        if (roll < 75)
        {
            var alias = NewName("s");
            var columns = _random.Next(1, 3);
            var names = Enumerable.Range(1, columns).Select(n => "c" + n.ToString(CultureInfo.InvariantCulture)).ToArray();
            sources.Add(new Source(alias, names, [], false));
            // Data-modifying subqueries are refused by the server (0A000, or a syntax error) wherever they are: made anyway.
            var body = Chance(0.05) ? Dml(columns, context, depth + 1) : Query(columns, context, depth + 1);
            return $"({body}) AS {alias}({string.Join(", ", names)})";
        }

        if (roll < 92)
        {
            var alias = NewName("g");
            var argument = Int(lateral ? context : Context.Empty, depth + 1);
            switch (_random.Next(9))
            {
                case 0:
                    sources.Add(new Source(alias, ["v", "n"], [], false));
                    return $"unnest(ARRAY[{argument}, 2]) WITH ORDINALITY AS {alias}(v, n)";
                case 1:
                    sources.Add(new Source(alias, ["v", "w"], [], false));
                    return $"ROWS FROM (generate_series(1, 2), {Pick("srf_read(2)", "app.srf_write(1)", $"srf_read({argument})")}) AS {alias}(v, w)";
                case 2:
                    sources.Add(new Source(alias, [], [], false));
                    return $"{Pick("pg_logical_slot_peek_changes", "pg_catalog.pg_logical_slot_get_changes", "pg_logical_slot_peek_binary_changes")}('diff_slot', NULL, NULL) AS {alias}";
                default:
                    sources.Add(new Source(alias, ["v"], [], false));
                    var function = Pick("generate_series(1, {0})", "srf_read({0})", "app.srf_read({0})", "srf_write({0})", "app.srf_write(2)", "generate_series({0}, 3)");
                    return $"{string.Format(CultureInfo.InvariantCulture, function, argument)} {Pick("AS ", "")}{alias}(v)";
            }
        }

        var valuesAlias = NewName("v");
        sources.Add(new Source(valuesAlias, ["v"], [], false));
        return $"(VALUES ({Int(lateral ? context : Context.Empty, depth + 1)}), ({_random.Next(5)})) AS {valuesAlias}(v)";
    }

    // ---------------------------------------------------------------- expressions

    private string IntList(int count, Context context, int depth) =>
        string.Join(", ", Enumerable.Range(0, count).Select(_ => Int(context, depth)));

    private string Int(Context context, int depth)
    {
        var roll = depth >= MaxDepth ? _random.Next(30) : _random.Next(100);
        if (context.Aggregates && roll < 30)
        {
            return Aggregate(context with { Aggregates = false }, depth);
        }

        if (roll < 12)
        {
            return _random.Next(10).ToString(CultureInfo.InvariantCulture);
        }

        if (roll < 30)
        {
            return Column(context) ?? _random.Next(10).ToString(CultureInfo.InvariantCulture);
        }

        if (roll < 58)
        {
            return Call(context, depth, write: Chance(0.13));
        }

        if (roll < 64 && context.Windows)
        {
            return Window(context with { Windows = false }, depth);
        }

        if (roll < 68 && context.Sources.FirstOrDefault(s => s.IsItems) is { } items && !context.Aggregates)
        {
            return Attribute(items);
        }

        var inner = depth + 1;
        return _random.Next(14) switch
        {
            0 => $"({Int(context, inner)} + {Int(context, inner)})",
            1 => $"{Int(context, inner)} OPERATOR(pg_catalog.+) {Int(context, inner)}",
            2 => $"CAST({Int(context, inner)} AS {Pick("int", "integer", "int4", "pg_catalog.int4")})",
            3 => $"({Int(context, inner)})::{Pick("int", "int4", "numeric(10, 2)::int", "bigint::int")}",
            4 => $"CASE WHEN {Bool(context, inner)} THEN {Int(context, inner)} ELSE {Int(context, inner)} END",
            5 => $"({ScalarSubquery(context with { Aggregates = false, Windows = false }, inner)})",
            6 => $"coalesce({Int(context, inner)}, {Int(context, inner)})",
            7 => $"length({Text(context, inner)})",
            8 => $"-{Int(context, inner)}",
            9 => $"{Pick("greatest", "least")}({Int(context, inner)}, {Int(context, inner)})",
            10 => $"(ARRAY[{Int(context, inner)}, 2])[1]",
            11 => $"({Int(context, inner)} * {_random.Next(1, 4)})",
            12 => $"(SELECT {Int(context, inner)})",
            _ => $"{Int(context, inner)} OPERATOR(pg_catalog.-) 1",
        };
    }

    private string ScalarSubquery(Context context, int depth) => _random.Next(4) switch
    {
        0 => $"SELECT count(*)::int FROM app.items {NewName("x")} WHERE {Bool(context, depth)}",
        _ => $"SELECT * FROM ({Query(1, context, depth)}) AS {NewName("q")} LIMIT 1",
    };

    /// <summary>A call of an int-returning function: a read-only one, or one that writes or changes the session.</summary>
    private string Call(Context context, int depth, bool write)
    {
        var template = write ? Pick(WriteCalls) : Pick(ReadCalls);
        return Fill(template, context, depth + 1);
    }

    private string Fill(string template, Context context, int depth)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '{' && i + 2 < template.Length && template[i + 2] == '}')
            {
                builder.Append(template[i + 1] == 't' ? Text(context, depth) : Int(context, depth));
                i += 2;
            }
            else if (c is '\'' or '"')
            {
                // A literal or quoted name: kept as it is by Render.
                var end = i + 1;
                while (end < template.Length && !(template[end] == c && (end + 1 >= template.Length || template[end + 1] != c)))
                {
                    end += template[end] == c ? 2 : 1;
                }

                builder.Append(Open).Append(template, i, end - i + 1).Append(Close);
                i = end;
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private string Aggregate(Context context, int depth)
    {
        var argument = Column(context) ?? Int(context, depth + 1);
        return _random.Next(14) switch
        {
            0 => "count(*)::int",
            1 => $"sum({argument})::int",
            2 => $"max({argument})",
            3 => $"agg_read({argument})",
            4 => $"app.agg_read({argument})",
            5 => $"agg_write({argument})",
            6 => $"app.agg_write({argument})",
            7 => $"count(*) FILTER (WHERE {Bool(context, depth + 1)})::int",
            8 => $"sum({argument}) FILTER (WHERE {Bool(context, depth + 1)})::int",
            9 => $"percentile_disc(0.5) WITHIN GROUP (ORDER BY {argument})",
            10 => $"coalesce(array_length(array_agg({argument} ORDER BY {argument}), 1), 0)",
            11 => $"bool_and({Bool(context, depth + 1)})::int",
            12 => $"count(DISTINCT {argument})::int",
            _ => $"{Call(context, depth, write: Chance(0.2))} + count(*)::int",
        };
    }

    private string Window(Context context, int depth)
    {
        var argument = Column(context) ?? Int(context, depth + 1);
        var order = Column(context) ?? "1";
        var over = Pick($"OVER (ORDER BY {order})", "OVER ()", $"OVER (PARTITION BY {order} ORDER BY {argument})",
            $"OVER (ORDER BY {order} ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)", $"OVER (PARTITION BY {Call(context, depth + 1, write: Chance(0.3))})");
        return _random.Next(8) switch
        {
            0 => $"row_number() {over}::int",
            1 => $"sum({argument}) {over}::int",
            2 => $"lag({argument}) {over}",
            3 => $"count(*) {over}::int",
            4 => $"agg_write({argument}) {over}",
            5 => $"agg_read({argument}) {over}",
            6 => $"sum({argument}) FILTER (WHERE {Bool(context, depth + 1)}) {over}::int",
            _ => $"ntile(2) {over}",
        };
    }

    /// <summary>A function of the row, called with attribute notation: items.row_touch is row_touch(items).</summary>
    private string Attribute(Source items) => _random.Next(9) switch
    {
        0 => $"{items.Alias}.row_touch",
        1 => $"({items.Alias}).row_touch",
        2 => $"{items.Alias}.{Q("row_touch")}",
        3 => $"{items.Alias}.ROW_TOUCH",
        4 => $"length({items.Alias}.row_label)",
        5 => $"length(({items.Alias}).row_label)",
        6 => $"length({items.Alias}.ROW_LABEL)",
        7 => items.Alias == "items" ? "app.items.row_touch" : $"({items.Alias}.*).row_touch",
        _ => $"coalesce({items.Alias}.row_touch, 0)",
    };

    private string? Column(Context context)
    {
        var candidates = context.Sources.Where(s => s.IntColumns.Length > 0).ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        var source = Pick([.. candidates]);
        var column = Pick(source.IntColumns);
        return $"{source.Alias}.{(column is "update" or "for" ? Q(column) : column)}";
    }

    private string Text(Context context, int depth)
    {
        var roll = depth >= MaxDepth ? _random.Next(60) : _random.Next(100);
        var textColumns = context.Sources.SelectMany(s => s.TextColumns.Select(c => c.Replace("#", s.Alias, StringComparison.Ordinal))).ToList();
        if (roll < 40 || (roll < 60 && textColumns.Count == 0))
        {
            return Literal(Pick(TextLiterals));
        }

        if (roll < 60 && textColumns.Count > 0)
        {
            return Pick([.. textColumns]);
        }

        var inner = depth + 1;
        return _random.Next(7) switch
        {
            0 => $"lower({Text(context, inner)})",
            1 => $"{Text(context, inner)} || {Text(context, inner)}",
            2 => $"{Int(context, inner)}::text",
            3 => Fill("format('%s-%s', {t}, {i})", context, inner),
            4 => $"CASE WHEN {Bool(context, inner)} THEN {Text(context, inner)} ELSE {Literal("'x'")} END",
            5 => $"(SELECT name FROM app.items WHERE id = {Int(context with { Aggregates = false, Windows = false }, inner)})",
            _ => context.Sources.FirstOrDefault(s => s.IsItems) is { } items ? $"{items.Alias}.row_label" : $"concat({Text(context, inner)}, {Int(context, inner)})",
        };
    }

    private string Bool(Context context, int depth)
    {
        var inner = depth + 1;
        var roll = depth >= MaxDepth ? _random.Next(4) : _random.Next(18);
        return roll switch
        {
            0 => $"{Int(context, inner)} > {Int(context, inner)}",
            1 => $"{Int(context, inner)} = {Int(context, inner)}",
            2 => $"{Int(context, inner)} IS NOT NULL",
            3 => Pick("true", "false", "1 = 1"),
            4 => $"{Int(context, inner)} IN ({Int(context, inner)}, {Int(context, inner)})",
            5 => $"{Int(context, inner)} IN ({Query(1, context, inner)})",
            6 => $"EXISTS ({Query(_random.Next(1, 3), context, inner)})",
            7 => $"NOT ({Bool(context, inner)})",
            8 => $"({Bool(context, inner)} AND {Bool(context, inner)})",
            9 => $"({Bool(context, inner)} OR {Bool(context, inner)})",
            10 => $"{Text(context, inner)} {Pick("LIKE", "NOT LIKE", "ILIKE", "SIMILAR TO")} {Literal(Pick("'item%'", "'(a|i)%'", "'%'"))}",
            11 => $"{Int(context, inner)} = ANY (ARRAY[{Int(context, inner)}, {Int(context, inner)}])",
            12 => $"{Int(context, inner)} BETWEEN {Int(context, inner)} AND {Int(context, inner)}",
            13 => $"{Int(context, inner)} IS DISTINCT FROM {Int(context, inner)}",
            14 => $"{Int(context, inner)} OPERATOR(pg_catalog.>=) {Int(context, inner)}",
            15 => $"{Int(context, inner)} >= ALL ({Query(1, context, inner)})",
            16 => $"{Text(context, inner)} LIKE ({Text(context, inner)})",
            _ => $"{Int(context, inner)} < {Call(context, inner, write: Chance(0.15))}",
        };
    }

    // ---------------------------------------------------------------- DML

    private string TopDml()
    {
        if (Chance(0.25))
        {
            return With(_random.Next(1, 3), Context.Empty, 0, top: true);
        }

        return Dml(Chance(0.7) ? _random.Next(1, 3) : 0, Context.Empty, 0);
    }

    /// <summary>INSERT, UPDATE, DELETE or MERGE, returning <paramref name="columns"/> int columns (none for 0).</summary>
    private string Dml(int columns, Context context, int depth)
    {
        var alias = NewName("m");
        var items = new Context([.. context.Sources, Source.Items(alias)], context.Ctes);
        string statement;
        switch (_random.Next(7))
        {
            case 0:
                statement = $"INSERT INTO app.audit (what) VALUES ({Text(context, depth + 1)})";
                return statement + Returning(columns, "id", context, depth);
            case 1:
                statement = $"INSERT INTO app.items AS {alias} (id, name, qty) VALUES ({100 + _random.Next(100)}, {Text(context, depth + 1)}, {Int(context, depth + 1)}) ON CONFLICT (id) DO {Pick("NOTHING", "UPDATE SET qty = EXCLUDED.qty + 1")}";
                break;
            case 2:
                statement = $"INSERT INTO app.audit (what) SELECT {alias}.name FROM app.items {alias} WHERE {Bool(items, depth + 1)}";
                return statement + Returning(columns, "id", context, depth);
            case 3:
                statement = $"UPDATE app.items {alias} SET qty = {Int(items, depth + 1)} WHERE {Bool(items, depth + 1)}";
                break;
            case 4:
                statement = $"DELETE FROM app.orders {alias} WHERE {alias}.amount > {Int(context, depth + 1)}";
                return statement + Returning(columns, $"{alias}.id", context, depth);
            case 5:
                statement = $"DELETE FROM app.items {alias} WHERE {Bool(items, depth + 1)}";
                break;
            default:
                // MERGE has no RETURNING before PostgreSQL 17, and no place in a CTE: the server refuses those forms.
                statement = $"MERGE INTO app.items {alias} USING (VALUES (1, {Int(context, depth + 1)})) AS src(id, q) ON {alias}.id = src.id "
                    + Pick("WHEN MATCHED THEN UPDATE SET qty = src.q", "WHEN MATCHED THEN DELETE", "WHEN NOT MATCHED THEN INSERT (id, name, qty) VALUES (src.id, 'm', src.q)", "WHEN MATCHED THEN DO NOTHING");
                return columns > 0 && Chance(0.3) ? statement + " RETURNING " + IntList(columns, Context.Empty, MaxDepth) : statement;
        }

        if (columns == 0)
        {
            return statement;
        }

        return statement + " RETURNING " + IntList(columns, items, depth + 1);
    }

    private string Returning(int columns, string column, Context context, int depth)
    {
        if (columns == 0)
        {
            return string.Empty;
        }

        var values = Enumerable.Range(0, columns).Select(i => i == 0 ? column : Int(context, depth + 1));
        return " RETURNING " + string.Join(", ", values);
    }

    // ---------------------------------------------------------------- EXPLAIN, COPY, utility

    private string Explain()
    {
        string prefix;
        if (Chance(0.55))
        {
            var options = Enumerable.Range(0, _random.Next(1, 4)).Select(_ => ExplainOption());
            prefix = $"EXPLAIN ({string.Join(", ", options)})";
        }
        else
        {
            prefix = Pick("EXPLAIN", "EXPLAIN", "EXPLAIN ANALYZE", "EXPLAIN ANALYSE", "EXPLAIN VERBOSE", "EXPLAIN ANALYZE VERBOSE", "explain analyse verbose");
        }

        var target = _random.Next(12) switch
        {
            < 6 => Query(_random.Next(1, 3), Context.Empty, 0, top: true),
            < 9 => Dml(_random.Next(0, 2), Context.Empty, 0),
            9 => $"CREATE {Pick("", "TEMP ", "UNLOGGED ")}TABLE {NewName("new_")} AS {Query(1, Context.Empty, 1)}",
            10 => $"DECLARE {NewName("cur")} CURSOR FOR {Query(1, Context.Empty, 1)}",
            _ => Pick("EXECUTE p1", "EXECUTE p1(1)", $"CREATE MATERIALIZED VIEW {NewName("mv")} AS SELECT 1"),
        };
        return $"{prefix} {target}";
    }

    private string ExplainOption()
    {
        if (Chance(0.08))
        {
            // Unknown to PostgreSQL 15 (some are options of later versions; quoted names keep their case).
            return Pick("FOO", "generic_plan", "memory", "serialize", Q("ANALYZE"), Q("Analyze"), Q("VERBOSE"));
        }

        if (Chance(0.5))
        {
            var name = Pick("ANALYZE", "analyze", "Analyze", "ANALYSE", "analyse", Q("analyze"), Q("analyse"));
            var value = Pick("", "", " true", " false", " TRUE", " on", " off", " OFF", " 1", " 0", " 00", " +1", " -0", " 2",
                " " + Literal("'true'"), " " + Literal("'off'"), " " + Literal("'on'"), " " + Literal("'false'"), " " + Q("off"),
                " " + Q("on"), " " + Q("OFF"), " fals", " yes", " no", " " + Literal("'0'"), " " + Literal("E'off'"));
            return name + value;
        }

        return Pick("VERBOSE", "verbose off", "COSTS false", "BUFFERS", "FORMAT JSON", "FORMAT TEXT", "format yaml", "SETTINGS",
            "SETTINGS on", "WAL", "TIMING off", "SUMMARY", Q("verbose"), Q("costs") + " 0", Q("format") + " " + Literal("'xml'"), "COSTS",
            "buffers true", "summary off", "TIMING", "settings false");
    }

    private string Copy()
    {
        return _random.Next(12) switch
        {
            0 => Pick("COPY app.items TO STDOUT", "copy app.items to stdout", "COPY items TO STDOUT"),
            1 => "COPY app.items (id, name) TO STDOUT WITH (FORMAT csv, HEADER)",
            2 => $"COPY {Pick(Q("delete"), "public." + Q("delete"), "app.item_names", "app.item_totals")} TO STDOUT",
            < 7 => $"COPY ({Query(_random.Next(1, 3), Context.Empty, 1)}) TO STDOUT{Pick("", " WITH CSV", " WITH (FORMAT csv, HEADER)", " (FORMAT text)")}",
            7 => $"COPY ({Dml(1, Context.Empty, 1)}) TO STDOUT",
            8 => $"COPY (SELECT * FROM app.items {LockingClause("items")}) TO STDOUT",
            _ => Pick("COPY app.audit (what) FROM STDIN", "COPY app.items FROM STDIN WITH (FORMAT csv)", "copy app.orders from stdin", "COPY BINARY app.audit FROM STDIN"),
        };
    }

    private string Utility(bool allowCopy = true)
    {
        var query = Query(1, Context.Empty, 1);
        var statement = _random.Next(40) switch
        {
            0 => Pick("SET search_path = app, public", "SET SESSION search_path TO app, public", "set search_path to default"),
            1 => Pick("SET statement_timeout = 1500", "SET SESSION statement_timeout TO '1500ms'", "SET application_name TO 'diff'", "SET TIME ZONE 'UTC'", "SET ROLE postgres"),
            2 => Pick("SET LOCAL work_mem = '8MB'", "SET LOCAL search_path = app, public", "set local statement_timeout = 1500"),
            3 => Pick("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "SET TRANSACTION READ ONLY", "SET TRANSACTION READ WRITE", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SET CONSTRAINTS ALL DEFERRED"),
            4 => Pick("SET transaction_read_only = off", "SET default_transaction_read_only = off", "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "SET SESSION AUTHORIZATION DEFAULT"),
            5 => Pick("SHOW search_path", "SHOW ALL", "show transaction_read_only", "SHOW TIME ZONE", "SHOW \"search_path\"", "SHOW transaction isolation level"),
            6 => Pick("RESET search_path", "RESET ALL", "reset statement_timeout"),
            7 => Pick("LISTEN diff", "UNLISTEN diff", "UNLISTEN *", "NOTIFY diff", "NOTIFY diff, 'payload'", "listen \"Diff\""),
            8 => $"PREPARE p1 AS {query}",
            9 => $"PREPARE p1 AS {query}; EXECUTE p1",
            10 => $"PREPARE p1 (int) AS SELECT $1 + {Call(Context.Empty, 1, write: Chance(0.3))}; EXECUTE p1(1)",
            11 => $"PREPARE p1 AS {Dml(0, Context.Empty, 1)}; EXECUTE p1",
            12 => Pick("EXECUTE p1", "DEALLOCATE p1", "DEALLOCATE ALL", "DEALLOCATE PREPARE p1"),
            13 => $"DECLARE c1 {Pick("", "SCROLL ", "NO SCROLL ", "BINARY ")}CURSOR {Pick("", "WITH HOLD ", "WITHOUT HOLD ")}FOR {query}",
            14 => $"DECLARE c1 CURSOR FOR {query}; FETCH {Pick("NEXT", "2", "ALL", "FORWARD 1", "")} {Pick("FROM ", "IN ", "")}c1",
            15 => $"DECLARE c1 CURSOR FOR {query}; MOVE FORWARD 1 IN c1; CLOSE c1",
            16 => Pick("FETCH NEXT FROM c1", "CLOSE c1", "CLOSE ALL", "MOVE c1"),
            17 => "DO " + Literal(Pick("$$BEGIN PERFORM 1; END$$", "$$ BEGIN PERFORM f_stable(1); END $$", "LANGUAGE plpgsql $d$BEGIN PERFORM count(*) FROM app.items; END$d$")),
            18 => "DO " + Literal(Pick("$$BEGIN INSERT INTO app.audit (what) VALUES ('do'); END$$", "$$ BEGIN PERFORM f_write(1); END $$", "$x$BEGIN PERFORM nextval('app.seq'); END$x$")),
            19 => Pick("CALL app.p_write(1)", "CALL p_write(2)", "call APP.P_WRITE(3)", "CALL app.p_read(1)", "CALL p_read(NULL)", "CALL app.p_write(f_stable(1))"),
            20 => $"CREATE {Pick("TEMP", "TEMPORARY", "LOCAL TEMP", "GLOBAL TEMPORARY")} TABLE {NewName("tmp_")} (a int)",
            21 => $"CREATE TEMP TABLE {NewName("tmp_")} AS {query}",
            22 => Pick($"CREATE TEMP VIEW {NewName("tv_")} AS SELECT 1", $"CREATE TABLE pg_temp.{NewName("tmp_")} (a int)", $"CREATE TEMP SEQUENCE {NewName("ts_")}", $"create or replace temp view {NewName("tv_")} as select 1"),
            23 => $"CREATE {Pick("", "UNLOGGED ")}TABLE {NewName("new_")} AS {query}",
            24 => Pick("LOCK TABLE app.items IN ACCESS SHARE MODE", "LOCK app.items IN ROW EXCLUSIVE MODE", "LOCK TABLE app.items", "LOCK app.orders IN SHARE MODE NOWAIT"),
            25 => Pick("DISCARD ALL", "DISCARD TEMP", "DISCARD PLANS", "DISCARD SEQUENCES"),
            26 => Pick("ANALYZE app.items", "TRUNCATE app.audit", "COMMENT ON TABLE app.items IS 'x'", "REFRESH MATERIALIZED VIEW app.item_totals", "VACUUM app.items", "REINDEX TABLE app.items"),
            27 => Pick("SAVEPOINT sp1", "RELEASE SAVEPOINT sp1", "ROLLBACK TO SAVEPOINT sp1") + "; " + query,
            28 => $"SAVEPOINT sp1; {query}; RELEASE sp1",
            29 => Pick("LOAD 'auto_explain'", "GRANT SELECT ON app.items TO PUBLIC", "ALTER TABLE app.items ADD COLUMN extra int", "DROP TABLE app.audit", "CREATE INDEX ON app.items (qty)"),
            30 => $"CREATE {Pick("", "OR REPLACE ")}VIEW {NewName("view_")} AS {query}",
            31 => $"CREATE FUNCTION pg_temp.{NewName("fn_")}() RETURNS int LANGUAGE sql AS {Literal("'SELECT 1'")}",
            32 => Pick("BEGIN", "START TRANSACTION READ ONLY", "COMMIT", "END", "ROLLBACK", "ABORT") + "; " + query,
            33 => $"SELECT {Call(Context.Empty, 1, write: true)}",
            34 => $"SELECT * FROM {Pick("app.f_write(1)", "f_write(2)", "app.srf_write(2)", "app.f_next()", "app.ovl('x')", "pg_advisory_lock(1)", "set_config('a.b', 'c', false)")}",
            _ when allowCopy => Copy(),
            _ => query,
        };
        return statement;
    }

    // ---------------------------------------------------------------- rendering

    /// <summary>
    /// Changes the case of everything outside the protected spans (all of it, or word by word) and turns some of the
    /// spaces between tokens into comments, newlines or tabs.
    /// </summary>
    private string Render(string raw, bool leadingComment)
    {
        var casing = _random.Next(6);
        var builder = new StringBuilder(raw.Length + 32);
        if (leadingComment && Chance(0.05))
        {
            builder.Append(Pick("/* leading */ ", "-- leading\n", "/* routing:replica */ ", "\n\n  "));
        }

        var protectedSpan = false;
        var upperWord = false;
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c == Open)
            {
                protectedSpan = true;
                continue;
            }

            if (c == Close)
            {
                protectedSpan = false;
                continue;
            }

            if (protectedSpan)
            {
                builder.Append(c);
                continue;
            }

            if (c is '\'' or '"')
            {
                // A plain literal or quoted name written in a fixed text: copied as it is, doubled quotes included.
                var end = i + 1;
                while (end < raw.Length && !(raw[end] == c && (end + 1 >= raw.Length || raw[end + 1] != c)))
                {
                    end += raw[end] == c ? 2 : 1;
                }

                builder.Append(raw, i, Math.Min(end, raw.Length - 1) - i + 1);
                i = end;
                continue;
            }

            if (c == ' ')
            {
                builder.Append(Chance(0.1) ? Pick(Separators) : " ");
                upperWord = Chance(0.5);
                continue;
            }

            builder.Append(casing switch
            {
                0 => char.ToLowerInvariant(c),
                1 => char.ToUpperInvariant(c),
                2 => upperWord ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c),
                _ => c,
            });
        }

        if (Chance(0.05))
        {
            builder.Append(Pick(";", " ;", "; ", " -- trailing", "/* trailing */", ";;"));
        }

        return builder.ToString();
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>A quoted identifier, kept as it is by <see cref="Render"/>.</summary>
    private static string Q(string name) => $"{Open}\"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"{Close}";

    /// <summary>A literal as written (a string in any quoting), kept as it is by <see cref="Render"/>.</summary>
    private static string Literal(string literal) => $"{Open}{literal}{Close}";

    private string NewName(string prefix) => prefix + (++_names).ToString(CultureInfo.InvariantCulture);

    private bool Chance(double probability) => _random.NextDouble() < probability;

    private T Pick<T>(params T[] items) => items[_random.Next(items.Length)];

    /// <summary>What an expression may refer to: the columns of the FROM items in scope, and the CTEs.</summary>
    private readonly record struct Context(IReadOnlyList<Source> Sources, IReadOnlyList<Source> Ctes, bool Aggregates = false, bool Windows = false)
    {
        public Context(IReadOnlyList<Source> sources)
            : this(sources, [])
        {
        }

        public static Context Empty => new([], []);
    }

    /// <summary>A FROM item: its alias, its int columns, its text expressions (# for the alias), and whether it is app.items.</summary>
    private sealed record Source(string Alias, string[] IntColumns, string[] TextColumns, bool IsItems)
    {
        public static Source Items(string alias) => new(alias, ["id", "qty"], ["#.name"], true);

        public static Source Delete(string alias) => new(alias, ["update", "for"], ["#." + Q("select")], false);
    }
}
