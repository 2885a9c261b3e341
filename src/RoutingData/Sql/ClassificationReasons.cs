namespace RoutingData.Sql;

/// <summary>The fixed <see cref="StatementClassification.Reason"/> texts, shared so a classification does not allocate them.</summary>
internal static class ClassificationReasons
{
    public const string Empty = "empty";
    public const string MultipleStatements = "multiple statements";
    public const string DataModifyingCte = "data-modifying CTE";
    public const string SelectInto = "SELECT INTO";
    public const string ForUpdate = "FOR UPDATE";
    public const string ForNoKeyUpdate = "FOR NO KEY UPDATE";
    public const string ForShare = "FOR SHARE";
    public const string ForKeyShare = "FOR KEY SHARE";
    public const string Explain = "EXPLAIN";
    public const string ExplainAnalyze = "EXPLAIN ANALYZE";
    public const string ExplainAnalyzeOfWrite = "EXPLAIN ANALYZE of a write";
    public const string ExplainExecute = "EXPLAIN EXECUTE";
    public const string ExplainCreatesRelation = "EXPLAIN of a statement that creates a relation";
    public const string ExplainPlansCall = "EXPLAIN of a call the planner may run";
    public const string Copy = "COPY";
    public const string CopyFrom = "COPY FROM";
    public const string CopyTo = "COPY TO";
    public const string CopyToFile = "COPY TO file";
    public const string CopyToProgram = "COPY TO PROGRAM";
    public const string SetSession = "SET (session)";
    public const string SetLocal = "SET LOCAL";
    public const string SetTransaction = "SET TRANSACTION";
    public const string SetConstraints = "SET CONSTRAINTS";
    public const string CreateTemp = "CREATE TEMP";
    public const string PrepareTransaction = "PREPARE TRANSACTION";
    public const string UnknownFunction = "unknown function";
    public const string BackslashInString = "backslash in a string with standard_conforming_strings off";
    public const string RefusedByStandby = "refused by a standby as a write (25006)";
    public const string StandbyCannotRun = "a standby cannot run it (unlogged or temporary relation)";
    public const string UnbalancedParentheses = "unbalanced parentheses";
    public const string NestingTooDeep = "nesting too deep";
    public const string Unrecognized = "unrecognized statement";
    public const string ReadOnlyTransaction = "read-only transaction";

    /// <summary>The reason for a statement decided by its first key word alone.</summary>
    public static string ForKeyword(SqlKeyword keyword) => keyword switch
    {
        SqlKeyword.Select => "SELECT",
        SqlKeyword.With => "WITH",
        SqlKeyword.Values => "VALUES",
        SqlKeyword.Table => "TABLE",
        SqlKeyword.Show => "SHOW",
        SqlKeyword.Insert => "INSERT",
        SqlKeyword.Update => "UPDATE",
        SqlKeyword.Delete => "DELETE",
        SqlKeyword.Merge => "MERGE",
        SqlKeyword.Truncate => "TRUNCATE",
        SqlKeyword.Lock => "LOCK",
        SqlKeyword.Call => "CALL",
        SqlKeyword.Do => "DO",
        SqlKeyword.Vacuum => "VACUUM",
        SqlKeyword.Analyze or SqlKeyword.Analyse => "ANALYZE",
        SqlKeyword.Cluster => "CLUSTER",
        SqlKeyword.Reindex => "REINDEX",
        SqlKeyword.Refresh => "REFRESH",
        SqlKeyword.Grant => "GRANT",
        SqlKeyword.Revoke => "REVOKE",
        SqlKeyword.Comment => "COMMENT",
        SqlKeyword.Security => "SECURITY LABEL",
        SqlKeyword.Import => "IMPORT",
        SqlKeyword.Notify => "NOTIFY",
        SqlKeyword.Checkpoint => "CHECKPOINT",
        SqlKeyword.Create => "CREATE",
        SqlKeyword.Alter => "ALTER",
        SqlKeyword.Drop => "DROP",
        SqlKeyword.Copy => "COPY",
        SqlKeyword.Set => "SET",
        SqlKeyword.Reset => "RESET",
        SqlKeyword.Discard => "DISCARD",
        SqlKeyword.Load => "LOAD",
        SqlKeyword.Listen => "LISTEN",
        SqlKeyword.Unlisten => "UNLISTEN",
        SqlKeyword.Prepare => "PREPARE",
        SqlKeyword.Deallocate => "DEALLOCATE",
        SqlKeyword.Declare => "DECLARE",
        SqlKeyword.Execute => "EXECUTE",
        SqlKeyword.Fetch => "FETCH",
        SqlKeyword.Move => "MOVE",
        SqlKeyword.Close => "CLOSE",
        SqlKeyword.Begin => "BEGIN",
        SqlKeyword.Start => "START TRANSACTION",
        SqlKeyword.Commit => "COMMIT",
        SqlKeyword.End => "END",
        SqlKeyword.Rollback => "ROLLBACK",
        SqlKeyword.Abort => "ABORT",
        SqlKeyword.Savepoint => "SAVEPOINT",
        SqlKeyword.Release => "RELEASE",
        _ => Unrecognized,
    };
}
