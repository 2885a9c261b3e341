using Npgsql;

namespace RoutingData.Consistency;

/// <summary>
/// The statements that capture a WAL position in the same round trip as the user's command. They run after the
/// user's statement behind an error barrier, i.e. in a new implicit transaction: on the primary after the write
/// has committed (before the commit, the insert position would be behind the commit record).
/// </summary>
internal static class LsnCapture
{
    /// <summary>The column name that marks a capture result, so readers can hide it.</summary>
    public const string ColumnName = "routingdata$lsn";

    // Schema-qualified: a function of the same name earlier on search_path must not answer instead.
    public const string PrimarySql = "SELECT pg_catalog.pg_current_wal_insert_lsn() AS \"" + ColumnName + "\"";

    /// <summary>
    /// For a read on the primary: no barrier, so it runs in the read's own implicit transaction, and says whether that
    /// transaction wrote (an xid was assigned) — then the position is before its commit and the session must wait for a
    /// capture after it, as after any write.
    /// </summary>
    public const string PrimaryReadSql = "SELECT pg_catalog.pg_current_wal_insert_lsn() AS \"" + ColumnName + "\", pg_catalog.txid_current_if_assigned() IS NOT NULL AS \"" + WroteColumnName + "\"";

    public const string WroteColumnName = "routingdata$wrote";

    public const string ReplicaSql = "SELECT pg_catalog.pg_last_wal_replay_lsn() AS \"" + ColumnName + "\"";

    /// <summary>The column name of the freshness check that leads a read on a replica not yet known to have caught up.</summary>
    public const string CheckColumnName = "routingdata$check";

    public const string CheckSql = "SELECT pg_catalog.pg_last_wal_replay_lsn() AS \"" + CheckColumnName + "\"";

    public static bool IsCheckResult(NpgsqlDataReader reader) =>
        reader.FieldCount == 1 && string.Equals(reader.GetName(0), CheckColumnName, StringComparison.Ordinal);

    public static bool IsCaptureResult(NpgsqlDataReader reader) =>
        reader.FieldCount is 1 or 2 && string.Equals(reader.GetName(0), ColumnName, StringComparison.Ordinal);
}
