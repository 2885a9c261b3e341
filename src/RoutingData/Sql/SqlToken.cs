namespace RoutingData.Sql;

/// <summary>One token: a position in the SQL text, never a copy of it.</summary>
/// <remarks>
/// Three int fields, so that the JIT keeps a token in registers and copies it with int-sized moves: a token built
/// from narrower (byte) stores and then read back wider stalls the CPU's store forwarding on the hot path.
/// </remarks>
internal readonly struct SqlToken
{
    // Kind | Keyword << 8 | Flags << 16.
    private readonly int _info;

    public SqlToken(SqlTokenKind kind, int start, int length, SqlKeyword keyword = SqlKeyword.None, SqlTokenFlags flags = SqlTokenFlags.None)
    {
        _info = (int)kind | ((int)keyword << 8) | ((int)flags << 16);
        Start = start;
        Length = length;
    }

    public SqlTokenKind Kind => (SqlTokenKind)(byte)_info;

    /// <summary>For an unquoted identifier, the key word it spells; otherwise <see cref="SqlKeyword.None"/>.</summary>
    public SqlKeyword Keyword => (SqlKeyword)(byte)(_info >> 8);

    public SqlTokenFlags Flags => (SqlTokenFlags)(byte)(_info >> 16);

    public int Start { get; }

    public int Length { get; }

    public bool Is(SqlKeyword keyword) => Keyword == keyword && keyword != SqlKeyword.None;

    public bool IsName => Kind is SqlTokenKind.Identifier or SqlTokenKind.QuotedIdentifier;

    public ReadOnlySpan<char> Text(ReadOnlySpan<char> sql) => sql.Slice(Start, Length);

    public override string ToString() => $"{Kind} {Keyword} @{Start}+{Length}";
}
