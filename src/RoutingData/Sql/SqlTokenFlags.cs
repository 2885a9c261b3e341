namespace RoutingData.Sql;

/// <summary>Details of a quoted identifier needed to recover its name.</summary>
[Flags]
internal enum SqlTokenFlags : byte
{
    None = 0,

    /// <summary>Contains "" escapes, so the text between the quotes is not the name as is.</summary>
    DoubledQuotes = 1,

    /// <summary>A U&amp;"…" identifier, whose Unicode escapes the classifier does not decode.</summary>
    Unicode = 2,
}
