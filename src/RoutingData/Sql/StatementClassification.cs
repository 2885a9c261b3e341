using System.Data;

namespace RoutingData.Sql;

/// <summary>The verdict on one SQL text: where it may run, why, and any routing hint found in its comments.</summary>
internal readonly struct StatementClassification
{
    public StatementClassification(StatementKind kind, ReadPreference? hint, string reason, bool isMultiStatement = false, bool isTransactionBlock = false)
    {
        Kind = kind;
        Hint = hint;
        Reason = reason;
        IsMultiStatement = isMultiStatement;
        IsTransactionBlock = isTransactionBlock;
    }

    /// <summary>
    /// Whether the text is a read-only transaction block (<c>BEGIN READ ONLY; …reads…; COMMIT</c>): it may run on a
    /// replica as one unit, but if it fails part-way its physical connection is left inside an aborted transaction.
    /// </summary>
    public bool IsTransactionBlock { get; }

    /// <summary>Whether the text holds more than one statement (Npgsql cannot send such a text as one batch command).</summary>
    public bool IsMultiStatement { get; }

    public StatementKind Kind { get; }

    /// <summary>From a <c>/* routing:xxx */</c> or <c>-- routing:xxx</c> comment; never changes <see cref="Kind"/>.</summary>
    public ReadPreference? Hint { get; }

    /// <summary>Short, human-readable why, e.g. "SELECT", "FOR UPDATE", "function nextval".</summary>
    public string Reason { get; }

    public bool IsRead => Kind == StatementKind.Read;

    public bool PinsSession => Kind is StatementKind.SessionState or StatementKind.TransactionControl;

    /// <summary>A command that is not SQL text (a stored procedure or table name, expanded by Npgsql): never provably read-only.</summary>
    public static StatementClassification NonText(CommandType commandType) =>
        new(StatementKind.Write, null, commandType == CommandType.StoredProcedure ? "stored procedure" : "not SQL text");

    /// <summary>
    /// Two commands sent together (a batch), by the same rule as statements in one text: the first pinning kind wins,
    /// else any write, else read. The first hint wins.
    /// </summary>
    public static StatementClassification Combine(StatementClassification first, StatementClassification second)
    {
        var hint = first.Hint ?? second.Hint;
        var winner = first.PinsSession ? first
            : second.PinsSession ? second
            : first.Kind == StatementKind.Write ? first
            : second.Kind == StatementKind.Write ? second
            : new StatementClassification(StatementKind.Read, null, ClassificationReasons.MultipleStatements);
        return new StatementClassification(winner.Kind, hint, winner.Reason, first.IsMultiStatement || second.IsMultiStatement, first.IsTransactionBlock || second.IsTransactionBlock);
    }

    public override string ToString() =>
        Hint is { } hint ? $"{Kind} ({Reason}; hint {hint})" : $"{Kind} ({Reason})";
}
