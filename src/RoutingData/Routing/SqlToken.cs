namespace RoutingData.Routing;

/// <summary>One token: a position in the SQL text, never a copy of it.</summary>
internal readonly struct SqlToken
{
    public SqlToken(SqlTokenKind kind, int start, int length, SqlKeyword keyword = SqlKeyword.None, SqlTokenFlags flags = SqlTokenFlags.None)
    {
        Kind = kind;
        Keyword = keyword;
        Flags = flags;
        Start = start;
        Length = length;
    }

    public SqlTokenKind Kind { get; }

    /// <summary>For an unquoted identifier, the key word it spells; otherwise <see cref="SqlKeyword.None"/>.</summary>
    public SqlKeyword Keyword { get; }

    public SqlTokenFlags Flags { get; }

    public int Start { get; }

    public int Length { get; }

    public bool Is(SqlKeyword keyword) => Keyword == keyword && keyword != SqlKeyword.None;

    public bool IsName => Kind is SqlTokenKind.Identifier or SqlTokenKind.QuotedIdentifier;

    public ReadOnlySpan<char> Text(ReadOnlySpan<char> sql) => sql.Slice(Start, Length);

    public override string ToString() => $"{Kind} {Keyword} @{Start}+{Length}";
}
