namespace RoutingData.Sql;

/// <summary>What a transaction-control statement is, for a read-only transaction block sent as one text.</summary>
internal enum TransactionEnd : byte
{
    /// <summary>Any other statement (or transaction control of any other form).</summary>
    None,

    /// <summary><c>BEGIN</c> / <c>START TRANSACTION</c> with <c>READ ONLY</c>, not <c>SERIALIZABLE</c> (a hot standby refuses it).</summary>
    ReadOnlyBegin,

    /// <summary><c>COMMIT</c>, <c>END</c> or <c>ROLLBACK</c>, with at most <c>WORK</c>/<c>TRANSACTION</c> (no <c>AND CHAIN</c>, no <c>PREPARED</c>).</summary>
    PlainEnd,
}
