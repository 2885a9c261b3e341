namespace RoutingData.Sql;

/// <summary>
/// Splits a multi-statement text at its top-level semicolons, so it can be sent as batch commands (Npgsql
/// allows one statement per batch command) with a capture statement after the last.
/// </summary>
internal static class StatementSplitter
{
    /// <summary>The statements, or null when the text cannot be split safely (a <c>BEGIN ATOMIC</c> body, a lexer error).</summary>
    public static List<string>? Split(string sql)
    {
        var statements = new List<string>();
        var lexer = new SqlLexer(sql);
        var depth = 0;
        var start = 0;
        var tokens = 0;
        while (lexer.Next(out var token))
        {
            switch (token.Kind)
            {
                case SqlTokenKind.LeftParen or SqlTokenKind.LeftBracket:
                    depth++;
                    break;
                case SqlTokenKind.RightParen or SqlTokenKind.RightBracket:
                    depth--;
                    break;
                case SqlTokenKind.Semicolon when depth == 0:
                    if (tokens > 0)
                    {
                        statements.Add(sql[start..token.Start]);
                    }

                    start = token.Start + token.Length;
                    tokens = 0;
                    continue;
            }

            if (token.Keyword == SqlKeyword.Atomic)
            {
                return null; // Semicolons inside a SQL-standard function body do not end the statement.
            }

            tokens++;
        }

        if (lexer.Error is not null || depth != 0)
        {
            return null;
        }

        if (tokens > 0)
        {
            statements.Add(sql[start..]);
        }

        return statements;
    }
}
