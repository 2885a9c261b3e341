using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;

namespace RoutingData.Sql;

/// <summary>
/// Recognises <see cref="SqlKeyword"/>s without allocating: a perfect hash (generated: no two of the 175 key words
/// share a slot among 2048) of the length and the first two and last two letters, then one ASCII case-insensitive compare.
/// Words of up to seven characters, the lexer's hot path, also have a vector form: see <see cref="IdentifyShort"/>.
/// </summary>
internal static class SqlKeywords
{
    private const int Shift = 21;
    private const uint Multiplier = 0x45547d9d;

    /// <summary>The longest word <see cref="IdentifyShort"/> takes.</summary>
    internal const int ShortLength = 7;

    // A perfect hash of the folded key words of up to seven letters (generated: no two of the 133 share a slot among 1024).
    private const ulong ShortMix = 0x9E3779B97F4A7C15;
    private const ulong ShortMultiplier = 0xa56636f16207efd1;
    private const int ShortShift = 54;

    private static readonly string?[] Texts =
    [
        null, null, "when", null, null, null, null, null, null, null, null, null, "alter", null, null, null,
        null, null, null, null, null, null, "explain", null, null, null, null, null, null, null, null, null,
        null, null, null, "import", null, null, null, null, "asc", null, "cube", null, null, null, null, null,
        null, null, "grouping", null, null, null, null, null, null, null, "tablesample", null, null, null, null, null,
        "no", null, null, null, null, null, null, null, null, null, null, null, null, null, "show", null,
        null, null, null, null, null, null, "limit", null, "using", null, null, null, null, null, null, null,
        "security", null, null, "array", null, null, null, null, null, null, "temp", null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, "sets", null, null, null,
        null, null, null, null, null, null, "constraints", null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, "binary", "fetch", null, null, null, null, null,
        null, null, null, null, null, null, null, null, "some", null, null, null, null, null, null, "only",
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, "collate", null, null, null, null, null, "analyze",
        null, null, null, "distinct", null, null, null, null, "atomic", null, "national", null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, "character", null, null, null, null, "references",
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, "current_date", null, null, null, null, null, "table", null, null, null, null, null,
        "deallocate", null, null, null, null, "not", null, null, null, null, null, null, null, null, null, null,
        null, null, null, "constraint", null, null, null, null, null, null, null, null, null, "returning", null, null,
        null, null, "cluster", null, null, null, null, null, null, "refresh", null, null, null, null, null, null,
        null, null, null, "grant", null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, "then", null, "analyse", null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, "unique", null, null, null, null, null, null, "reset", null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, "prepare",
        null, null, null, null, null, null, null, null, null, null, "on", null, null, null, null, null,
        null, null, null, "current_user", null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, "ordinality",
        null, null, null, null, null, null, null, null, "by", "current_time", null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, "localtime", null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, "program", null, null, "user",
        null, null, null, null, null, null, "char", null, null, null, null, null, null, null, null, null,
        "false", null, null, null, null, null, null, null, null, null, "union", null, null, null, null, "create",
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, "key", null, "natural", null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, "do", "copy", null, null, "and", null, null, null, null, null, null, "listen",
        null, "values", null, null, null, null, "declare", "reindex", null, null, null, null, null, null, null, "is",
        null, null, null, null, null, null, null, null, null, null, "current_catalog", null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, "desc", null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, "time", null, null, null, "having", null, null, null, "or",
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, "savepoint", "session", null, null, null, null, null, null, null, null, null, "in", null, null,
        "revoke", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, "end", null, null, null, null, null, null, null, null, null, null, null, null,
        null, "rollup", null, null, null, "system_user", null, null, null, null, null, null, null, null, null, null,
        null, null, "commit", null, null, null, "merge", null, null, null, null, "window", null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, "first", null, null, null, null, null, null, null,
        "local", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, "with", null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, "left", null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, "column", null, null, null, null, null, null, null, null, null, null, null, "cross",
        null, null, "stdout", null, null, null, null, null, null, "cast", null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, "inner", null, null, null, null, null, "else", null, null, null, null,
        null, null, null, "truncate", null, "checkpoint", null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, "initially",
        null, null, null, null, null, null, null, null, null, null, null, null, "partition", "exists", null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, "current_role", null, null, "recursive",
        null, "as", null, null, null, null, null, "transaction", "deferrable", null, null, null, "trailing", null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, "all", null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, "start", null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, "intersect", null, "call", null, null, null, null, null, null, null, null, null, null, null,
        null, null, "group", null, null, null, null, null, "columns", null, null, null, null, null, null, null,
        null, "row", null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        "execute", "check", null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, "next", null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, "load", null, null, null, null, null, null, null, null, null,
        "case", null, null, null, null, "current_timestamp", null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, "placing", null, null, "localtimestamp", null, null, null, null, null, "primary",
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, "zone",
        null, null, "escape", null, null, "insert", null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, "asymmetric", null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, "unlisten", null, null, null, null, null, null, null,
        null, null, "similar", null, null, null, null, null, null, null, null, "full", "bit", null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, "abort", null, null, null, null, null, null, null,
        "temporary", null, null, "comment", null, null, null, null, null, null, null, "characteristics", null, null, null, null,
        null, "nchar", null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, "symmetric", null, null, null, null, null, null, null, null, "for", "share", null, null, null, null,
        null, null, null, null, null, "lateral", null, null, null, null, null, null, "between", null, null, null,
        "both", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, "drop", null, null, null, null, null, null, null, null, "move", null, null,
        null, null, null, null, null, null, "close", null, null, null, null, "prepared", null, null, null, "rollback",
        null, null, "variadic", "outer", null, null, null, null, null, null, null, null, null, "order", "ilike", null,
        null, null, null, null, null, null, null, null, "like", null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, "vacuum", null,
        null, null, null, null, null, null, null, null, "release", null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, "update", null, null, null, null, null,
        null, null, null, null, null, null, "where", null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, "except", "set", null, "into", null, null, null, null, null, null, null, null,
        null, null, "discard", null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, "offset", null, "to", null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        "null", null, null, null, null, null, null, null, null, null, null, "select", null, null, null, null,
        null, null, null, null, "any", null, null, null, null, null, null, null, null, null, null, null,
        null, null, "verbose", null, null, "foreign", null, null, "notify", null, null, null, null, null, null, null,
        null, null, null, null, null, "global", null, null, null, null, null, null, null, null, null, "lock",
        "delete", null, null, null, null, null, null, null, null, "materialized", null, "operator", null, null, "session_user", null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, "leading", null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        "begin", null, null, null, null, null, null, "from", null, "join", null, null, null, null, null, null,
        "default", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        "true", null, null, null, null, null, null, null, null, "right", null, null, null, null, null, null,
        "varying", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
    ];

    private static readonly SqlKeyword[] Values =
    [
        default, default, SqlKeyword.When, default, default, default, default, default, default, default, default, default, SqlKeyword.Alter, default, default, default,
        default, default, default, default, default, default, SqlKeyword.Explain, default, default, default, default, default, default, default, default, default,
        default, default, default, SqlKeyword.Import, default, default, default, default, SqlKeyword.Asc, default, SqlKeyword.Cube, default, default, default, default, default,
        default, default, SqlKeyword.Grouping, default, default, default, default, default, default, default, SqlKeyword.Tablesample, default, default, default, default, default,
        SqlKeyword.No, default, default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Show, default,
        default, default, default, default, default, default, SqlKeyword.Limit, default, SqlKeyword.Using, default, default, default, default, default, default, default,
        SqlKeyword.Security, default, default, SqlKeyword.Array, default, default, default, default, default, default, SqlKeyword.Temp, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Sets, default, default, default,
        default, default, default, default, default, default, SqlKeyword.Constraints, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, SqlKeyword.Binary, SqlKeyword.Fetch, default, default, default, default, default,
        default, default, default, default, default, default, default, default, SqlKeyword.Some, default, default, default, default, default, default, SqlKeyword.Only,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, SqlKeyword.Collate, default, default, default, default, default, SqlKeyword.Analyze,
        default, default, default, SqlKeyword.Distinct, default, default, default, default, SqlKeyword.Atomic, default, SqlKeyword.National, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, SqlKeyword.Character, default, default, default, default, SqlKeyword.References,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, SqlKeyword.CurrentDate, default, default, default, default, default, SqlKeyword.Table, default, default, default, default, default,
        SqlKeyword.Deallocate, default, default, default, default, SqlKeyword.Not, default, default, default, default, default, default, default, default, default, default,
        default, default, default, SqlKeyword.Constraint, default, default, default, default, default, default, default, default, default, SqlKeyword.Returning, default, default,
        default, default, SqlKeyword.Cluster, default, default, default, default, default, default, SqlKeyword.Refresh, default, default, default, default, default, default,
        default, default, default, SqlKeyword.Grant, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, SqlKeyword.Then, default, SqlKeyword.Analyse, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, SqlKeyword.Unique, default, default, default, default, default, default, SqlKeyword.Reset, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Prepare,
        default, default, default, default, default, default, default, default, default, default, SqlKeyword.On, default, default, default, default, default,
        default, default, default, SqlKeyword.CurrentUser, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Ordinality,
        default, default, default, default, default, default, default, default, SqlKeyword.By, SqlKeyword.CurrentTime, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Localtime, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Program, default, default, SqlKeyword.User,
        default, default, default, default, default, default, SqlKeyword.Char, default, default, default, default, default, default, default, default, default,
        SqlKeyword.False, default, default, default, default, default, default, default, default, default, SqlKeyword.Union, default, default, default, default, SqlKeyword.Create,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, SqlKeyword.Key, default, SqlKeyword.Natural, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, SqlKeyword.Do, SqlKeyword.Copy, default, default, SqlKeyword.And, default, default, default, default, default, default, SqlKeyword.Listen,
        default, SqlKeyword.Values, default, default, default, default, SqlKeyword.Declare, SqlKeyword.Reindex, default, default, default, default, default, default, default, SqlKeyword.Is,
        default, default, default, default, default, default, default, default, default, default, SqlKeyword.CurrentCatalog, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Desc, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, SqlKeyword.Time, default, default, default, SqlKeyword.Having, default, default, default, SqlKeyword.Or,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, SqlKeyword.Savepoint, SqlKeyword.Session, default, default, default, default, default, default, default, default, default, SqlKeyword.In, default, default,
        SqlKeyword.Revoke, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, SqlKeyword.End, default, default, default, default, default, default, default, default, default, default, default, default,
        default, SqlKeyword.Rollup, default, default, default, SqlKeyword.SystemUser, default, default, default, default, default, default, default, default, default, default,
        default, default, SqlKeyword.Commit, default, default, default, SqlKeyword.Merge, default, default, default, default, SqlKeyword.Window, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, SqlKeyword.First, default, default, default, default, default, default, default,
        SqlKeyword.Local, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, SqlKeyword.With, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, SqlKeyword.Left, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, SqlKeyword.Column, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Cross,
        default, default, SqlKeyword.Stdout, default, default, default, default, default, default, SqlKeyword.Cast, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, SqlKeyword.Inner, default, default, default, default, default, SqlKeyword.Else, default, default, default, default,
        default, default, default, SqlKeyword.Truncate, default, SqlKeyword.Checkpoint, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Initially,
        default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Partition, SqlKeyword.Exists, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.CurrentRole, default, default, SqlKeyword.Recursive,
        default, SqlKeyword.As, default, default, default, default, default, SqlKeyword.Transaction, SqlKeyword.Deferrable, default, default, default, SqlKeyword.Trailing, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, SqlKeyword.All, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Start, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, SqlKeyword.Intersect, default, SqlKeyword.Call, default, default, default, default, default, default, default, default, default, default, default,
        default, default, SqlKeyword.Group, default, default, default, default, default, SqlKeyword.Columns, default, default, default, default, default, default, default,
        default, SqlKeyword.Row, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        SqlKeyword.Execute, SqlKeyword.Check, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, SqlKeyword.Next, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, SqlKeyword.Load, default, default, default, default, default, default, default, default, default,
        SqlKeyword.Case, default, default, default, default, SqlKeyword.CurrentTimestamp, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, SqlKeyword.Placing, default, default, SqlKeyword.Localtimestamp, default, default, default, default, default, SqlKeyword.Primary,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Zone,
        default, default, SqlKeyword.Escape, default, default, SqlKeyword.Insert, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, SqlKeyword.Asymmetric, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, SqlKeyword.Unlisten, default, default, default, default, default, default, default,
        default, default, SqlKeyword.Similar, default, default, default, default, default, default, default, default, SqlKeyword.Full, SqlKeyword.Bit, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, SqlKeyword.Abort, default, default, default, default, default, default, default,
        SqlKeyword.Temporary, default, default, SqlKeyword.Comment, default, default, default, default, default, default, default, SqlKeyword.Characteristics, default, default, default, default,
        default, SqlKeyword.Nchar, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, SqlKeyword.Symmetric, default, default, default, default, default, default, default, default, SqlKeyword.For, SqlKeyword.Share, default, default, default, default,
        default, default, default, default, default, SqlKeyword.Lateral, default, default, default, default, default, default, SqlKeyword.Between, default, default, default,
        SqlKeyword.Both, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, SqlKeyword.Drop, default, default, default, default, default, default, default, default, SqlKeyword.Move, default, default,
        default, default, default, default, default, default, SqlKeyword.Close, default, default, default, default, SqlKeyword.Prepared, default, default, default, SqlKeyword.Rollback,
        default, default, SqlKeyword.Variadic, SqlKeyword.Outer, default, default, default, default, default, default, default, default, default, SqlKeyword.Order, SqlKeyword.Ilike, default,
        default, default, default, default, default, default, default, default, SqlKeyword.Like, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Vacuum, default,
        default, default, default, default, default, default, default, default, SqlKeyword.Release, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, SqlKeyword.Update, default, default, default, default, default,
        default, default, default, default, default, default, SqlKeyword.Where, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, SqlKeyword.Except, SqlKeyword.Set, default, SqlKeyword.Into, default, default, default, default, default, default, default, default,
        default, default, SqlKeyword.Discard, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Offset, default, SqlKeyword.To, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        SqlKeyword.Null, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Select, default, default, default, default,
        default, default, default, default, SqlKeyword.Any, default, default, default, default, default, default, default, default, default, default, default,
        default, default, SqlKeyword.Verbose, default, default, SqlKeyword.Foreign, default, default, SqlKeyword.Notify, default, default, default, default, default, default, default,
        default, default, default, default, default, SqlKeyword.Global, default, default, default, default, default, default, default, default, default, SqlKeyword.Lock,
        SqlKeyword.Delete, default, default, default, default, default, default, default, default, SqlKeyword.Materialized, default, SqlKeyword.Operator, default, default, SqlKeyword.SessionUser, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, SqlKeyword.Leading, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        SqlKeyword.Begin, default, default, default, default, default, default, SqlKeyword.From, default, SqlKeyword.Join, default, default, default, default, default, default,
        SqlKeyword.Default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        SqlKeyword.True, default, default, default, default, default, default, default, default, SqlKeyword.Right, default, default, default, default, default, default,
        SqlKeyword.Varying, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
        default, default, default, default, default, default, default, default, default, default, default, default, default, default, default, default,
    ];

    // Built from the tables above, so they stay the one list of key words.
    private static readonly byte[] Lengths = BuildLengths();
    private static readonly ShortTable Short = BuildShortTable();
    private static readonly byte[] ShortSlots = Short.Slots;
    private static readonly Vector128<ushort>[] ShortWords = Short.Words;
    private static readonly SqlKeyword[] ShortValues = Short.Values;

    /// <summary>
    /// <see cref="Identify(ReadOnlySpan{char})"/> for a word of at most <see cref="ShortLength"/> ASCII identifier characters, given as
    /// <paramref name="folded"/>: its characters OR 0x20, the lanes after it zero. The OR folds A-Z to a-z and changes
    /// no other identifier character into a letter or '_' (only DEL, which is none, would become one), so equal vectors
    /// are equal words ignoring ASCII case: no compare of the text is needed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static SqlKeyword IdentifyShort(Vector128<ushort> folded)
    {
        var halves = folded.AsUInt64();
        var slot = (int)(((halves.GetElement(0) ^ (halves.GetElement(1) * ShortMix)) * ShortMultiplier) >> ShortShift);
        int index = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ShortSlots), slot);

        // Entry 0 is all zeros, which no word folds to (its first character is not zero). No branch on the outcome:
        // whether a word is a key word is unpredictable, and known only at the end of a chain of loads.
        var equal = Vector128.Equals(ShortWords[index], folded).ExtractMostSignificantBits(); // 0xFF when equal
        var match = (int)((equal + 1) >> 8);
        return (SqlKeyword)((int)ShortValues[index] & -match);
    }

    /// <summary>A word's <see cref="IdentifyShort"/> form; for tests and the table.</summary>
    internal static Vector128<ushort> FoldShort(ReadOnlySpan<char> word)
    {
        Span<ushort> lanes = stackalloc ushort[Vector128<ushort>.Count];
        lanes.Clear();
        for (var i = 0; i < word.Length; i++)
        {
            lanes[i] = (ushort)(word[i] | 0x20);
        }

        return Vector128.Create((ReadOnlySpan<ushort>)lanes);
    }

    private static byte[] BuildLengths()
    {
        var lengths = new byte[256];
        for (var i = 0; i < Texts.Length; i++)
        {
            if (Texts[i] is { } text)
            {
                lengths[(int)Values[i]] = (byte)text.Length;
            }
        }

        return lengths;
    }

    private static ShortTable BuildShortTable()
    {
        var slots = new byte[1 << (64 - ShortShift)];
        var words = new List<Vector128<ushort>> { Vector128<ushort>.Zero };
        var values = new List<SqlKeyword> { SqlKeyword.None };
        for (var i = 0; i < Texts.Length; i++)
        {
            if (Texts[i] is { Length: <= ShortLength } text)
            {
                var folded = FoldShort(text);
                var halves = folded.AsUInt64();
                var slot = (int)(((halves.GetElement(0) ^ (halves.GetElement(1) * ShortMix)) * ShortMultiplier) >> ShortShift);
                if (slots[slot] != 0)
                {
                    throw new InvalidOperationException($"Key word '{text}' shares a short slot with another: regenerate the constants.");
                }

                slots[slot] = (byte)words.Count;
                words.Add(folded);
                values.Add(Values[i]);
            }
        }

        return new ShortTable(slots, [.. words], [.. values]);
    }

    /// <summary>The key word an unquoted identifier spells, or <see cref="SqlKeyword.None"/>.</summary>
    public static SqlKeyword Identify(ReadOnlySpan<char> word)
    {
        if (word.Length < 2 || word.Length > 17)
        {
            return SqlKeyword.None;
        }

        var key = (uint)((word[0] | 0x20) | ((word[1] | 0x20) << 7) | ((word[^1] | 0x20) << 14) | ((word[^2] | 0x20) << 21) | (word.Length << 28));
        var slot = (int)((key * Multiplier) >> Shift);

        // PostgreSQL folds only ASCII A-Z, and Ascii.EqualsIgnoreCase is false for any non-ASCII character,
        // so "ſelect" or "ınsert" never spell a key word.
        return Texts[slot] is { } candidate && candidate.Length == word.Length && Ascii.EqualsIgnoreCase(word, candidate)
            ? Values[slot]
            : SqlKeyword.None;
    }

    /// <summary>
    /// The key word spelled by the unquoted identifier of <paramref name="length"/> characters at <paramref name="start"/>
    /// in <paramref name="text"/>: <see cref="IdentifyShort"/> when it is short and eight characters can be read from there.
    /// </summary>
    internal static SqlKeyword Identify(ReadOnlySpan<char> text, int start, int length)
    {
        if (length <= ShortLength && Vector128.IsHardwareAccelerated && start <= text.Length - Vector128<ushort>.Count)
        {
            var chars = Vector128.LoadUnsafe(ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text)), (nuint)start);
            var inWord = Vector128.LessThan(Vector128.Create((ushort)0, 1, 2, 3, 4, 5, 6, 7), Vector128.Create((ushort)length));
            return IdentifyShort((chars | Vector128.Create((ushort)0x20)) & inWord);
        }

        return Identify(text.Slice(start, length));
    }

    /// <summary>The length of <paramref name="keyword"/>'s text; 0 for <see cref="SqlKeyword.None"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int LengthOf(SqlKeyword keyword) => Lengths[(int)keyword];

    /// <summary>The lower-case text of <paramref name="keyword"/> (not <see cref="SqlKeyword.None"/>).</summary>
    internal static string TextOf(SqlKeyword keyword)
    {
        var index = Array.IndexOf(Values, keyword);
        return keyword != SqlKeyword.None && index >= 0 ? Texts[index]! : throw new ArgumentOutOfRangeException(nameof(keyword));
    }

    /// <summary>True when <paramref name="word"/> equals the lower-case ASCII <paramref name="lower"/>, folding only ASCII A-Z.</summary>
    public static bool Is(ReadOnlySpan<char> word, string lower) =>
        word.Length == lower.Length && Ascii.EqualsIgnoreCase(word, lower);

    private sealed class ShortTable(byte[] slots, Vector128<ushort>[] words, SqlKeyword[] values)
    {
        /// <summary>Hash slot to index in <see cref="Words"/> and <see cref="Values"/>; 0 for none.</summary>
        public byte[] Slots { get; } = slots;

        public Vector128<ushort>[] Words { get; } = words;

        public SqlKeyword[] Values { get; } = values;
    }
}
