namespace RoutingData.Sql;

/// <summary>Where a statement may run, as decided by <see cref="StatementClassifier"/>.</summary>
internal enum StatementKind : byte
{
    /// <summary>Provably read-only: may run on a replica.</summary>
    Read,

    /// <summary>Must run on the primary: writes, locks, primary-only functions, or anything not understood.</summary>
    Write,

    /// <summary>Changes session state that outlives the statement: pins the logical connection to the primary until it is closed.</summary>
    SessionState,

    /// <summary>Transaction control sent as SQL text (BEGIN, COMMIT, SAVEPOINT, PREPARE TRANSACTION, …): also pins.</summary>
    TransactionControl,
}
