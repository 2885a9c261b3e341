namespace RoutingData.Sql;

/// <summary>The lexical class of a <see cref="SqlToken"/>.</summary>
internal enum SqlTokenKind : byte
{
    /// <summary>No token (end of text).</summary>
    None,

    /// <summary>An unquoted identifier or key word (see <see cref="SqlToken.Keyword"/>).</summary>
    Identifier,

    /// <summary>A "quoted" or U&amp;"quoted" identifier: never a key word.</summary>
    QuotedIdentifier,

    /// <summary>Any string literal, including E'', U&amp;'', B'', X'', N'' and dollar-quoted strings.</summary>
    String,

    Number,

    /// <summary>A positional parameter such as $1.</summary>
    Parameter,

    /// <summary>An operator, or a character the classifier has no use for.</summary>
    Operator,

    /// <summary>The :: cast operator.</summary>
    Cast,

    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    Semicolon,
    Dot,
}
