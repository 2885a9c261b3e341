using System.Text;

namespace RoutingData.Sql;

/// <summary>What the driver knows about PostgreSQL's own functions without asking a server.</summary>
internal static class BuiltinFunctions
{
    /// <summary>
    /// Always writing, whatever pg_proc says: they write, need the primary, or need the session that ran nextval
    /// (currval, lastval). Transaction-level advisory locks are here because a hot standby refuses them.
    /// </summary>
    public static readonly string[] Writing =
    [
        "nextval", "setval", "currval", "lastval",
        "txid_current", "txid_current_if_assigned", "pg_current_xact_id", "pg_current_xact_id_if_assigned",
        "pg_current_wal_lsn", "pg_current_wal_insert_lsn", "pg_current_wal_flush_lsn", "pg_walfile_name", "pg_walfile_name_offset",
        "pg_advisory_xact_lock", "pg_advisory_xact_lock_shared", "pg_try_advisory_xact_lock", "pg_try_advisory_xact_lock_shared",
        "pg_notify", "pg_logical_emit_message", "pg_switch_wal", "pg_create_restore_point", "pg_reload_conf", "pg_rotate_logfile",
        "pg_terminate_backend", "pg_cancel_backend", "pg_promote", "pg_log_standby_snapshot",
        "pg_create_physical_replication_slot", "pg_create_logical_replication_slot", "pg_drop_replication_slot",
        "pg_copy_physical_replication_slot", "pg_copy_logical_replication_slot", "pg_replication_slot_advance",
        "pg_logical_slot_get_changes", "pg_logical_slot_get_binary_changes",

        // Logical decoding, even peeking, cannot run during recovery (before PostgreSQL 16: not on a standby at all).
        "pg_logical_slot_peek_changes", "pg_logical_slot_peek_binary_changes",
        "pg_backup_start", "pg_backup_stop", "pg_start_backup", "pg_stop_backup",
        "lo_create", "lo_creat", "lo_import", "lo_export", "lo_unlink", "lo_put", "lo_from_bytea", "lowrite", "lo_truncate",
        "lo_truncate64", "lo_open",
        "brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range", "gin_clean_pending_list",
        "pg_import_system_collations", "dblink_exec",

        // Assigns an OID: a standby refuses with XX000 "cannot assign OIDs during recovery".
        "pg_nextoid",
        "pg_restore_relation_stats", "pg_restore_attribute_stats", "pg_clear_relation_stats", "pg_clear_attribute_stats",
        "pg_set_relation_stats", "pg_set_attribute_stats",
    ];

    /// <summary>
    /// The names of <see cref="Writing"/> (and of the writing prefixes) that pg_proc marks IMMUTABLE or STABLE: the
    /// planner may run them while only planning (EXPLAIN without ANALYZE), and a standby refuses some of them even then.
    /// All the others are VOLATILE.
    /// </summary>
    public static readonly string[] WritingNotVolatile =
    [
        "txid_current", "txid_current_if_assigned", "pg_current_xact_id", "pg_current_xact_id_if_assigned",
        "pg_walfile_name", "pg_walfile_name_offset", "pg_replication_origin_oid",
    ];

    /// <summary>Name prefixes that are always writing (pg_stat_reset, pg_stat_reset_shared, pg_replication_origin_create, …).</summary>
    public static readonly string[] WritingPrefixes = ["pg_stat_reset", "pg_replication_origin_", "binary_upgrade_"];

    private static readonly int ShortestWritingPrefix = WritingPrefixes.Min(prefix => prefix.Length);

    /// <summary>Always session state: they leave locks, settings or connections behind in the session.</summary>
    public static readonly string[] SessionState =
    [
        "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_lock_shared",
        "pg_advisory_unlock", "pg_advisory_unlock_shared", "pg_advisory_unlock_all",
        "set_config", "setseed", "dblink_connect", "dblink_connect_u", "dblink_disconnect", "dblink_open", "dblink_close",
    ];

    /// <summary>
    /// Common read-only built-ins, used without pg_proc knowledge and for syntax-like names pg_proc lacks (coalesce,
    /// greatest, type names used as functions). Applies to unqualified and pg_catalog-qualified calls only.
    /// </summary>
    public static readonly string[] ReadOnly =
    [
        // Aggregates.
        "count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every", "bit_and", "bit_or", "bit_xor", "any_value",
        "array_agg", "string_agg", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "json_agg_strict",
        "jsonb_agg_strict", "json_objectagg", "json_arrayagg", "xmlagg", "range_agg", "range_intersect_agg",
        "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "corr", "covar_pop", "covar_samp",
        "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
        "percentile_cont", "percentile_disc", "mode",

        // Window functions.
        "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value", "last_value",
        "nth_value",

        // Conditionals and comparison.
        "coalesce", "nullif", "greatest", "least", "num_nulls", "num_nonnulls",

        // Strings.
        "lower", "upper", "initcap", "length", "char_length", "character_length", "octet_length", "bit_length", "substr",
        "substring", "trim", "btrim", "ltrim", "rtrim", "lpad", "rpad", "replace", "concat", "concat_ws", "format", "left",
        "right", "position", "strpos", "reverse", "repeat", "split_part", "translate", "ascii", "chr", "starts_with",
        "overlay", "normalize", "unistr", "casefold", "quote_ident", "quote_literal", "quote_nullable", "to_hex", "to_bin",
        "to_oct", "to_ascii", "regexp_replace", "regexp_match", "regexp_matches", "regexp_split_to_array",
        "regexp_split_to_table", "regexp_like", "regexp_count", "regexp_instr", "regexp_substr", "string_to_array",
        "string_to_table", "array_to_string", "convert", "convert_from", "convert_to", "md5", "sha224", "sha256", "sha384",
        "sha512", "crc32", "crc32c", "encode", "decode", "get_byte", "set_byte", "get_bit", "set_bit", "bit_count",

        // Numbers.
        "abs", "round", "floor", "ceil", "ceiling", "trunc", "mod", "power", "pow", "sqrt", "cbrt", "exp", "ln", "log",
        "log10", "sign", "div", "pi", "degrees", "radians", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh",
        "cosh", "tanh", "random", "random_normal", "width_bucket", "scale", "min_scale", "trim_scale", "gcd", "lcm",
        "factorial",

        // Date and time.
        "now", "current_timestamp", "current_date", "current_time", "localtime", "localtimestamp", "clock_timestamp",
        "statement_timestamp", "transaction_timestamp", "timeofday", "date_trunc", "date_part", "date_bin", "extract",
        "to_char", "to_date", "to_timestamp", "to_number", "age", "make_date", "make_time", "make_timestamp",
        "make_timestamptz", "make_interval", "justify_days", "justify_hours", "justify_interval", "isfinite", "date_add",
        "date_subtract", "timezone",

        // Arrays and set-returning functions.
        "unnest", "generate_series", "generate_subscripts", "array_length", "array_lower", "array_upper", "array_ndims",
        "array_dims", "cardinality", "array_position", "array_positions", "array_append", "array_prepend", "array_cat",
        "array_remove", "array_replace", "array_fill", "array_reverse", "array_sample", "array_shuffle", "array_sort",
        "trim_array",

        // JSON.
        "to_json", "to_jsonb", "row_to_json", "array_to_json", "json_build_object", "jsonb_build_object",
        "json_build_array", "jsonb_build_array", "json_object", "jsonb_object", "json_array", "json_scalar",
        "json_serialize", "json_query", "json_value", "json_exists", "json_array_length", "jsonb_array_length", "json_each",
        "jsonb_each", "json_each_text", "jsonb_each_text", "json_extract_path", "jsonb_extract_path",
        "json_extract_path_text", "jsonb_extract_path_text", "json_object_keys", "jsonb_object_keys",
        "json_array_elements", "jsonb_array_elements", "json_array_elements_text", "jsonb_array_elements_text",
        "json_typeof", "jsonb_typeof", "json_strip_nulls", "jsonb_strip_nulls", "jsonb_set", "jsonb_set_lax",
        "jsonb_insert", "jsonb_pretty", "jsonb_path_query", "jsonb_path_query_array", "jsonb_path_query_first",
        "jsonb_path_exists", "jsonb_path_match", "json_populate_record", "jsonb_populate_record", "json_to_record",
        "jsonb_to_record", "json_to_recordset", "jsonb_to_recordset", "json_populate_recordset",
        "jsonb_populate_recordset",

        // XML.
        "xmlelement", "xmlattributes", "xmlforest", "xmlconcat", "xmlparse", "xmlpi", "xmlroot", "xmlserialize",
        "xmlexists", "xmlcomment", "xmltext", "xpath", "xpath_exists", "xml_is_well_formed",

        // Text search.
        "to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery", "ts_rank",
        "ts_rank_cd", "ts_headline", "setweight", "strip", "numnode", "querytree", "tsvector_to_array", "array_to_tsvector",

        // Ranges ("lower"/"upper" above also take ranges).
        "lower_inc", "upper_inc", "lower_inf", "upper_inf", "isempty", "range_merge", "int4range", "int8range", "numrange",
        "tsrange", "tstzrange", "daterange", "multirange",

        // Network addresses.
        "host", "hostmask", "masklen", "netmask", "network", "set_masklen", "abbrev", "broadcast", "family", "inet_merge",
        "inet_same_family",

        // UUIDs.
        "gen_random_uuid", "uuidv4", "uuidv7", "uuid_extract_timestamp", "uuid_extract_version",

        // Session and server information, catalog helpers, sizes, privileges.
        "version", "current_setting", "current_database", "current_schema", "current_schemas", "current_user",
        "session_user", "current_role", "current_catalog", "inet_server_port", "inet_server_addr", "inet_client_port",
        "inet_client_addr", "pg_backend_pid", "pg_postmaster_start_time", "pg_conf_load_time", "pg_is_in_recovery",
        "pg_last_wal_replay_lsn", "pg_last_wal_receive_lsn", "pg_last_xact_replay_timestamp", "pg_wal_lsn_diff",
        "txid_current_snapshot", "pg_current_snapshot", "txid_snapshot_xmin", "txid_snapshot_xmax", "pg_snapshot_xmin",
        "pg_snapshot_xmax", "txid_visible_in_snapshot", "pg_visible_in_snapshot", "pg_typeof", "pg_column_size",
        "pg_total_relation_size", "pg_relation_size", "pg_table_size", "pg_indexes_size", "pg_database_size",
        "pg_size_pretty", "pg_size_bytes", "pg_get_viewdef", "pg_get_indexdef", "pg_get_constraintdef",
        "pg_get_functiondef", "pg_get_function_arguments", "pg_get_function_result", "pg_get_expr", "pg_get_userbyid",
        "pg_get_serial_sequence", "pg_get_triggerdef", "pg_table_is_visible", "pg_type_is_visible",
        "pg_function_is_visible", "format_type", "obj_description", "col_description", "shobj_description",
        "has_table_privilege", "has_column_privilege", "has_any_column_privilege", "has_schema_privilege",
        "has_database_privilege", "has_function_privilege", "has_sequence_privilege", "pg_has_role",
        "to_regclass", "to_regtype", "to_regproc", "to_regprocedure", "to_regnamespace", "to_regrole",
        "pg_encoding_to_char", "pg_client_encoding", "pg_input_is_valid", "pg_input_error_info", "pg_blocking_pids",
        "pg_trigger_depth", "pg_jit_available", "row_security_active", "pg_sleep", "pg_sleep_for", "pg_sleep_until",

        // Type names used like functions, and type modifiers after them.
        "numeric", "decimal", "dec", "varchar", "char", "character", "bpchar", "bit", "varbit", "timestamp", "timestamptz",
        "time", "timetz", "interval", "float", "float4", "float8", "double", "real", "int", "int2", "int4", "int8",
        "integer", "bigint", "smallint", "boolean", "bool", "text", "uuid", "date", "bytea", "json", "jsonb", "money",
        "name", "oid", "regclass", "regtype", "regproc", "xml", "tsvector", "tsquery", "inet", "cidr", "macaddr",
        "point", "line", "lseg", "box", "path", "polygon", "circle",
    ];

    /// <summary><see cref="HasWritingPrefix"/> for an unquoted name not yet folded: only ASCII A-Z fold, as in PostgreSQL.</summary>
    public static bool HasWritingPrefixIgnoringCase(ReadOnlySpan<char> name)
    {
        if (name.Length < ShortestWritingPrefix)
        {
            return false;
        }

        foreach (var prefix in WritingPrefixes)
        {
            // Ascii.EqualsIgnoreCase folds ASCII letters only, and is false for any non-ASCII character.
            if (name.Length >= prefix.Length && Ascii.EqualsIgnoreCase(name[..prefix.Length], prefix))
            {
                return true;
            }
        }

        return false;
    }

    public static bool HasWritingPrefix(ReadOnlySpan<char> name)
    {
        foreach (var prefix in WritingPrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
