using RoutingData.Routing;
using Xunit;
using RoutingData.Sql;

namespace RoutingData.Tests.Sql;

/// <summary>What a function call may do: defaults, pg_proc knowledge and overrides.</summary>
public sealed class FunctionCatalogTests
{
    private static readonly FunctionCatalog Default = FunctionCatalog.CreateDefault([], []);

    private static readonly (string Schema, string Name, char Volatility)[] Rows =
    [
        ("pg_catalog", "lower", 'i'),
        ("pg_catalog", "now", 's'),
        ("pg_catalog", "random", 'v'),
        ("pg_catalog", "nextval", 'v'),
        ("pg_catalog", "pg_advisory_lock", 'v'),
        ("pg_catalog", "pg_stat_reset_single_table_counters", 'v'),
        ("information_schema", "_pg_expandarray", 'i'),
        ("public", "add_audit_row", 'v'),
        ("public", "tax_rate", 's'),
        ("public", "square", 'i'),
        ("public", "mixed", 's'),
        ("public", "mixed", 'i'),
        ("public", "mixed", 'v'),
        ("public", "stable_overloads", 's'),
        ("public", "stable_overloads", 'i'),
        ("public", "CamelCase", 'i'),
        ("public", "weird", 'x'),
        ("app", "lower", 'v'),
        ("app", "report", 's'),
        ("reporting", "report", 'v'),
    ];

    private static readonly FunctionCatalog Loaded = FunctionCatalog.FromPgProc(Rows, [], []);

    private static FunctionClass Classify(FunctionCatalog catalog, string name, string schema = "") =>
        catalog.Classify(name, schema);

    [Fact]
    public void Default_catalog_knows_common_read_only_builtins()
    {
        foreach (var name in new[] { "count", "sum", "coalesce", "lower", "now", "date_trunc", "jsonb_build_object", "row_number", "generate_series", "pg_is_in_recovery", "numeric", "varchar", "pg_sleep", "current_setting" })
        {
            Assert.Equal(FunctionClass.ReadOnly, Classify(Default, name));
        }

        Assert.False(Default.IsLoadedFromServer);
    }

    [Fact]
    public void Default_catalog_denies_writing_and_session_functions()
    {
        foreach (var name in new[] { "nextval", "setval", "currval", "lastval", "txid_current", "pg_current_wal_lsn", "pg_advisory_xact_lock", "pg_notify", "lo_import", "pg_terminate_backend", "pg_stat_reset", "pg_stat_reset_shared", "pg_replication_origin_advance", "dblink_exec" })
        {
            Assert.Equal(FunctionClass.Writing, Classify(Default, name));
        }

        foreach (var name in new[] { "pg_advisory_lock", "pg_try_advisory_lock_shared", "pg_advisory_unlock_all", "set_config", "setseed", "dblink_connect" })
        {
            Assert.Equal(FunctionClass.SessionState, Classify(Default, name));
        }
    }

    [Fact]
    public void Default_catalog_does_not_know_anything_else()
    {
        Assert.Equal(FunctionClass.Unknown, Classify(Default, "my_function"));
        Assert.Equal(FunctionClass.Unknown, Classify(Default, "lower", "my_schema"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(Default, "lower", "pg_catalog"));
        Assert.Equal(FunctionClass.Writing, Classify(Default, "nextval", "pg_catalog"));
        Assert.Equal(FunctionClass.Writing, Classify(Default, "nextval", "my_schema"));
        Assert.Equal(FunctionClass.Unknown, Classify(Default, ""));
        Assert.Equal(FunctionClass.Unknown, Classify(Default, new string('a', 200)));
    }

    [Fact]
    public void Unquoted_names_fold_to_lower_case_and_quoted_names_compare_exactly()
    {
        Assert.Equal(FunctionClass.ReadOnly, Default.Classify("LOWER", "", nameQuoted: false));
        Assert.Equal(FunctionClass.Unknown, Default.Classify("LOWER", "", nameQuoted: true));
        Assert.Equal(FunctionClass.ReadOnly, Default.Classify("lower", "PG_CATALOG", schemaQuoted: false));
        Assert.Equal(FunctionClass.Unknown, Default.Classify("lower", "PG_CATALOG", schemaQuoted: true));
        Assert.Equal(FunctionClass.Writing, Default.Classify("NextVal", ""));

        Assert.Equal(FunctionClass.ReadOnly, Loaded.Classify("CamelCase", "", nameQuoted: true));
        Assert.Equal(FunctionClass.Unknown, Loaded.Classify("CamelCase", "", nameQuoted: false));
        Assert.Equal(FunctionClass.Unknown, Loaded.Classify("camelcase", "", nameQuoted: true));
    }

    [Fact]
    public void Pg_proc_user_volatile_function_is_volatile()
    {
        Assert.True(Loaded.IsLoadedFromServer);
        Assert.Equal(FunctionClass.Volatile, Classify(Loaded, "add_audit_row"));
        Assert.Equal(FunctionClass.Volatile, Classify(Loaded, "add_audit_row", "public"));
    }

    [Fact]
    public void Pg_proc_user_stable_or_immutable_function_is_read_only()
    {
        Assert.Equal(FunctionClass.ReadOnly, Classify(Loaded, "tax_rate"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(Loaded, "square"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(Loaded, "stable_overloads"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(Loaded, "square", "public"));
    }

    [Fact]
    public void One_volatile_overload_among_stable_ones_makes_the_name_volatile()
    {
        Assert.Equal(FunctionClass.Volatile, Classify(Loaded, "mixed"));
    }

    [Fact]
    public void Unexpected_volatility_counts_as_volatile()
    {
        Assert.Equal(FunctionClass.Volatile, Classify(Loaded, "weird"));
    }

    [Fact]
    public void Builtin_volatile_functions_are_read_only_unless_denied()
    {
        Assert.Equal(FunctionClass.ReadOnly, Classify(Loaded, "random"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(Loaded, "_pg_expandarray"));
        Assert.Equal(FunctionClass.Writing, Classify(Loaded, "nextval"));
        Assert.Equal(FunctionClass.SessionState, Classify(Loaded, "pg_advisory_lock"));
        Assert.Equal(FunctionClass.Writing, Classify(Loaded, "pg_stat_reset_single_table_counters"));
    }

    [Fact]
    public void Name_volatile_in_any_user_schema_is_volatile_unqualified_but_schema_qualified_calls_use_that_schema()
    {
        // app.lower is volatile: an unqualified lower() might resolve to it through search_path.
        Assert.Equal(FunctionClass.Volatile, Classify(Loaded, "lower"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(Loaded, "lower", "pg_catalog"));
        Assert.Equal(FunctionClass.Volatile, Classify(Loaded, "lower", "app"));
        Assert.Equal(FunctionClass.Volatile, Classify(Loaded, "report"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(Loaded, "report", "app"));
        Assert.Equal(FunctionClass.Volatile, Classify(Loaded, "report", "reporting"));
        Assert.Equal(FunctionClass.Unknown, Classify(Loaded, "report", "nowhere"));
    }

    [Fact]
    public void Name_not_in_pg_proc_is_unknown_unless_allow_listed()
    {
        Assert.Equal(FunctionClass.Unknown, Classify(Loaded, "no_such_function"));
        // coalesce and friends are syntax, not in pg_proc: the allow-list still knows them.
        Assert.Equal(FunctionClass.ReadOnly, Classify(Loaded, "coalesce"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(Loaded, "count"));
    }

    [Fact]
    public void Unknown_function_in_a_query_goes_to_the_primary_and_pins()
    {
        var result = StatementClassifier.ClassifyUncached("SELECT no_such_function(1)", Loaded);

        // Its effect cannot be known from the text: it may write and may leave session state.
        Assert.Equal(StatementKind.SessionState, result.Kind);
        Assert.Equal("unknown function no_such_function", result.Reason);
    }

    [Fact]
    public void Queries_follow_pg_proc_knowledge()
    {
        Assert.True(StatementClassifier.ClassifyUncached("SELECT tax_rate(1), square(2), app.report()", Loaded).IsRead);
        Assert.Equal(StatementKind.SessionState, StatementClassifier.ClassifyUncached("SELECT add_audit_row()", Loaded).Kind);
        Assert.Equal("volatile function add_audit_row", StatementClassifier.ClassifyUncached("SELECT add_audit_row()", Loaded).Reason);
        Assert.Equal(StatementKind.SessionState, StatementClassifier.ClassifyUncached("SELECT mixed(1)", Loaded).Kind);
        Assert.True(StatementClassifier.ClassifyUncached("SELECT \"CamelCase\"(1)", Loaded).IsRead);
        Assert.Equal(StatementKind.SessionState, StatementClassifier.ClassifyUncached("SELECT CamelCase(1)", Loaded).Kind);

        // A user's WritingFunctions entry says "writes, leaves no session state": primary, not pinned.
        var overridden = FunctionCatalog.FromPgProc(Rows, [], ["add_audit_row"]);
        Assert.Equal(StatementKind.Write, StatementClassifier.ClassifyUncached("SELECT add_audit_row()", overridden).Kind);
    }

    [Fact]
    public void Overrides_apply_both_ways_and_writing_beats_read_only()
    {
        var catalog = FunctionCatalog.CreateDefault(["my_report", "both", "nextval"], ["lower", "both", "my_audit"]);

        Assert.Equal(FunctionClass.ReadOnly, Classify(catalog, "my_report"));
        Assert.Equal(FunctionClass.Writing, Classify(catalog, "my_audit"));
        Assert.Equal(FunctionClass.Writing, Classify(catalog, "lower"));
        Assert.Equal(FunctionClass.Writing, Classify(catalog, "lower", "pg_catalog"));
        Assert.Equal(FunctionClass.Writing, Classify(catalog, "both"));
        // A user override is the user's decision, even against the built-in deny list.
        Assert.Equal(FunctionClass.ReadOnly, Classify(catalog, "nextval"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(catalog, "my_report", "any_schema"));
    }

    [Fact]
    public void Functions_made_after_initdb_count_as_user_functions_even_in_pg_catalog()
    {
        // adminpack installs pg_file_write into pg_catalog: by OID (>= 16384) it is not a built-in.
        var catalog = FunctionCatalog.FromPgProc(
            [("pg_catalog", "pg_file_write", 'v', false), ("pg_catalog", "random", 'v', true), ("pg_catalog", "pg_ls_dir", 'v', true)],
            [],
            []);

        Assert.Equal(FunctionClass.Volatile, Classify(catalog, "pg_file_write"));
        Assert.Equal(FunctionClass.Volatile, Classify(catalog, "pg_file_write", "pg_catalog"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(catalog, "random"));
        Assert.Equal(StatementKind.SessionState, StatementClassifier.ClassifyUncached("SELECT pg_catalog.pg_file_write('/tmp/x', 'y', false)", catalog).Kind);
    }

    [Fact]
    public void The_not_read_only_filter_never_skips_a_name_that_is_not_read_only()
    {
        var catalog = FunctionCatalog.FromPgProc(Rows, ["my_read"], ["my_write"]);
        var names = BuiltinFunctions.Writing.Concat(BuiltinFunctions.SessionState).Concat(["add_audit_row", "mixed", "weird", "lower", "report", "my_write", "pg_stat_reset_anything", "pg_replication_origin_x", "binary_upgrade_y"]);
        foreach (var name in names)
        {
            Assert.True(catalog.MayBeNotReadOnly(name), name);
            Assert.True(catalog.MayBeNotReadOnly(name.ToUpperInvariant()), name.ToUpperInvariant());
        }

        // And it does skip most plain column names (the point of it).
        var columns = new[] { "id", "name", "total", "created_at", "customer_id", "email", "status", "amount", "updated_at", "qty" };
        Assert.True(columns.Count(c => !catalog.MayBeNotReadOnly(c)) >= 5);
    }

    [Fact]
    public void Overrides_beat_pg_proc_knowledge()
    {
        var catalog = FunctionCatalog.FromPgProc(Rows, ["add_audit_row"], ["tax_rate"]);

        Assert.Equal(FunctionClass.ReadOnly, Classify(catalog, "add_audit_row"));
        Assert.Equal(FunctionClass.Writing, Classify(catalog, "tax_rate"));
        Assert.Equal(FunctionClass.Writing, Classify(catalog, "tax_rate", "public"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(catalog, "square"));
    }

    [Fact]
    public void Many_rows_are_handled()
    {
        var rows = new List<(string, string, char)>();
        for (var i = 0; i < 5000; i++)
        {
            rows.Add(("public", "f" + i, i % 2 == 0 ? 'v' : 's'));
        }

        var catalog = FunctionCatalog.FromPgProc(rows, [], []);

        Assert.Equal(FunctionClass.Volatile, Classify(catalog, "f0"));
        Assert.Equal(FunctionClass.ReadOnly, Classify(catalog, "f4999"));
        Assert.Equal(FunctionClass.Unknown, Classify(catalog, "f5000"));
    }
}
