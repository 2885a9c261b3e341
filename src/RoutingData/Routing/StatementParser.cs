using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RoutingData.Routing;

/// <summary>
/// Splits a SQL text into statements at top-level ";" (outside parens and BEGIN ATOMIC bodies) and classifies each
/// by its leading key words, handing queries to <see cref="QueryScanner"/>.
/// </summary>
internal ref struct StatementParser
{
    private readonly ReadOnlySpan<char> _sql;
    private readonly FunctionCatalog _catalog;
    private SqlLexer _lexer;
    private int _depth;

    // Inside BEGIN ATOMIC … END of a CREATE FUNCTION/PROCEDURE: ";" does not end the statement. Counts CASE … END too.
    private int _atomic;
    private bool _unbalanced;
    private bool _statementEnded;
    private bool _textEnded;

    // False to feed queries to the scanner token by token from the lexer only: the reference for testing ScanRest.
    private readonly bool _fastPath;

    public StatementParser(ReadOnlySpan<char> sql, FunctionCatalog catalog, bool fastPath = true)
    {
        _sql = sql;
        _catalog = catalog;
        _lexer = new SqlLexer(sql);
        _fastPath = fastPath;
    }

    public readonly ReadPreference? Hint => _lexer.Hint;

    /// <summary>Why lexing failed ("unterminated …"), or null.</summary>
    public readonly string? Error => _lexer.Error;

    /// <summary>Classifies the next non-empty statement; false when none is left.</summary>
    public bool TryClassifyNext(out StatementKind kind, out string reason)
    {
        while (!_textEnded)
        {
            _statementEnded = false;
            _depth = 0;
            _atomic = 0;
            _unbalanced = false;
            if (!Next(out var first))
            {
                continue;
            }

            Classify(first, out kind, out reason);
            SkipRest();
            if (kind == StatementKind.Read && (_unbalanced || _depth != 0))
            {
                // The server will reject it; but where a paren closes decides what we scanned as one statement.
                kind = StatementKind.Write;
                reason = ClassificationReasons.UnbalancedParentheses;
            }

            return true;
        }

        kind = StatementKind.Read;
        reason = ClassificationReasons.Empty;
        return false;
    }

    private static bool IsFalse(ReadOnlySpan<char> value) =>
        value.Length > 0
        && ("false".AsSpan().StartsWith(value, StringComparison.OrdinalIgnoreCase)
            || "no".AsSpan().StartsWith(value, StringComparison.OrdinalIgnoreCase)
            || value.Equals("of", StringComparison.OrdinalIgnoreCase)
            || value.Equals("off", StringComparison.OrdinalIgnoreCase)
            || value.SequenceEqual("0"));

    /// <summary>The next token of the current statement; false at its end (top-level ";", end of text or a lexing error).</summary>
    private bool Next(out SqlToken token)
    {
        if (_statementEnded)
        {
            token = default;
            return false;
        }

        if (!_lexer.Next(out token))
        {
            _statementEnded = true;
            _textEnded = true;
            return false;
        }

        switch (token.Kind)
        {
            case SqlTokenKind.LeftParen:
                _depth++;
                break;
            case SqlTokenKind.RightParen:
                if (_depth == 0)
                {
                    _unbalanced = true;
                }
                else
                {
                    _depth--;
                }

                break;
            case SqlTokenKind.Semicolon when _depth == 0 && _atomic == 0:
                _statementEnded = true;
                return false;
        }

        return true;
    }

    /// <summary>The token after the current one, without consuming it.</summary>
    private readonly SqlToken Peek()
    {
        if (_statementEnded)
        {
            return default;
        }

        var peek = _lexer;
        return peek.Next(out var token) ? token : default;
    }

    /// <summary>Consumes the rest of the statement; true when it names an object in pg_temp (pg_temp.x).</summary>
    private bool SkipRest()
    {
        var temporary = false;
        SqlToken previous = default;
        while (Next(out var token))
        {
            if (token.Kind == SqlTokenKind.Identifier)
            {
                if (_atomic > 0)
                {
                    if (token.Is(SqlKeyword.Case))
                    {
                        _atomic++;
                    }
                    else if (token.Is(SqlKeyword.End))
                    {
                        _atomic--;
                    }
                }
                else if (token.Is(SqlKeyword.Begin) && Peek().Is(SqlKeyword.Atomic))
                {
                    _atomic = 1;
                }
            }
            else if (token.Kind == SqlTokenKind.Dot && IsPgTemp(previous))
            {
                temporary = true;
            }

            previous = token;
        }

        return temporary;
    }

    private readonly bool IsPgTemp(in SqlToken token) => token.Kind switch
    {
        SqlTokenKind.Identifier => SqlKeywords.Is(token.Text(_sql), "pg_temp"),
        SqlTokenKind.QuotedIdentifier => token.Text(_sql).SequenceEqual("\"pg_temp\""),
        _ => false,
    };

    private void Classify(in SqlToken first, out StatementKind kind, out string reason)
    {
        if (first.Kind == SqlTokenKind.LeftParen)
        {
            ScanQuery(first, "SELECT", out kind, out reason);
            return;
        }

        var keyword = first.Keyword;
        switch (keyword)
        {
            case SqlKeyword.Select or SqlKeyword.Values or SqlKeyword.Table or SqlKeyword.With or SqlKeyword.Show:
                ScanQuery(first, ClassificationReasons.ForKeyword(keyword), out kind, out reason);
                return;
            case SqlKeyword.Explain:
                ClassifyExplain(out kind, out reason);
                return;
            case SqlKeyword.Copy:
                ClassifyCopy(out kind, out reason);
                return;
            case SqlKeyword.Set:
                ClassifySet(out kind, out reason);
                return;
            case SqlKeyword.Create:
                ClassifyCreate(out kind, out reason);
                return;
            case SqlKeyword.Prepare:
                // PREPARE TRANSACTION 'gid' is two-phase commit; PREPARE name AS … creates a prepared statement.
                if (Peek().Is(SqlKeyword.Transaction) && Next(out _) && Peek().Kind == SqlTokenKind.String)
                {
                    kind = StatementKind.TransactionControl;
                    reason = ClassificationReasons.PrepareTransaction;
                    return;
                }

                kind = StatementKind.SessionState;
                reason = ClassificationReasons.ForKeyword(keyword);
                return;
            case SqlKeyword.Reset or SqlKeyword.Discard or SqlKeyword.Load or SqlKeyword.Listen or SqlKeyword.Unlisten
                or SqlKeyword.Deallocate or SqlKeyword.Declare:
                kind = StatementKind.SessionState;
                reason = ClassificationReasons.ForKeyword(keyword);
                return;
            case SqlKeyword.Begin or SqlKeyword.Start or SqlKeyword.Commit or SqlKeyword.End or SqlKeyword.Rollback
                or SqlKeyword.Abort or SqlKeyword.Savepoint or SqlKeyword.Release:
                kind = StatementKind.TransactionControl;
                reason = ClassificationReasons.ForKeyword(keyword);
                return;
            default:
                // EXECUTE/FETCH/MOVE/CLOSE need the session that prepared or declared (the primary's); DML, DDL,
                // maintenance and anything unrecognised must run on the primary.
                kind = StatementKind.Write;
                reason = first.Kind == SqlTokenKind.Identifier ? ClassificationReasons.ForKeyword(keyword) : ClassificationReasons.Unrecognized;
                return;
        }
    }

    private void ScanQuery(in SqlToken first, string readReason, out StatementKind kind, out string reason)
    {
        var scanner = new QueryScanner(_sql, _catalog);
        scanner.Accept(first, first.Kind == SqlTokenKind.LeftParen ? _depth - 1 : _depth, _lexer);
        if (_fastPath)
        {
            ScanRest(ref scanner);
        }
        else
        {
            while (Next(out var token))
            {
                scanner.Accept(token, token.Kind == SqlTokenKind.LeftParen ? _depth - 1 : _depth, _lexer);
            }
        }

        Verdict(ref scanner, StatementKind.Read, readReason, out kind, out reason);
    }

    /// <summary>
    /// Feeds the rest of the statement to <paramref name="scanner"/>, as <see cref="Next"/> would, but lexes the common
    /// simple tokens (whitespace, words, ",", ".", "(", ")") itself rather than through the lexer: the hot path of
    /// classifying a long query. Everything else (comments, literals, operators, ";", the end) goes through <see cref="Next"/>.
    /// Word and whitespace runs are found in bit masks of 64 characters at a time (<see cref="SqlLexer.Masks"/>), so
    /// that moving on to the next token takes a few instructions rather than a loop or a chain of vector operations.
    /// </summary>
    private void ScanRest(ref QueryScanner scanner)
    {
        if (_statementEnded)
        {
            return;
        }

        var text = _sql;
        var i = _lexer.Position;
        var block = i;
        ulong identifierBits = 0, spaceBits = 0, nonAsciiBits = 0;
        var masked = false;
        while (true)
        {
            if ((uint)i < (uint)text.Length)
            {
                var offset = i - block;
                if (!masked || (uint)offset >= 64)
                {
                    block = i;
                    offset = 0;
                    masked = true;
                    SqlLexer.Masks(text, block, out identifierBits, out spaceBits, out nonAsciiBits);
                }

                var c = text[i];
                switch (SqlLexer.ClassOf(c))
                {
                    case SqlLexer.Space:
                        // The run ends in this block (at a clear bit) or runs on into the next one.
                        i += BitOperations.TrailingZeroCount(~(spaceBits >> offset));
                        continue;
                    case SqlLexer.Letter when i + 1 >= text.Length || text[i + 1] is not ('\'' or '&'):
                    {
                        // Not E'…', U&"…" and the like, which are the lexer's.
                        var length = BitOperations.TrailingZeroCount(~(identifierBits >> offset));
                        var end = i + length;
                        SqlKeyword keyword;
                        if (offset + length >= 64)
                        {
                            // It may go on past this block.
                            end = SqlLexer.ScanWord(text, i, out keyword);
                        }
                        else if (((nonAsciiBits >> offset) & ((1UL << length) - 1)) != 0)
                        {
                            keyword = SqlKeyword.None;
                        }
                        else if (length <= SqlKeywords.ShortLength && Vector128.IsHardwareAccelerated && i <= text.Length - Vector128<ushort>.Count)
                        {
                            var chars = Vector128.LoadUnsafe(ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text)), (nuint)i);
                            var inWord = Vector128.LessThan(Vector128.Create((ushort)0, 1, 2, 3, 4, 5, 6, 7), Vector128.Create((ushort)length));
                            keyword = SqlKeywords.IdentifyShort((chars | Vector128.Create((ushort)0x20)) & inWord);
                        }
                        else
                        {
                            keyword = SqlKeywords.Identify(text[i..end]);
                        }

                        _lexer.Position = end;
                        scanner.AcceptIdentifier(new SqlToken(SqlTokenKind.Identifier, i, end - i, keyword), _depth, _lexer);
                        i = end;
                        continue;
                    }

                    case SqlLexer.Comma:
                        scanner.AcceptOther(new SqlToken(SqlTokenKind.Comma, i, 1));
                        i++;
                        continue;
                    case SqlLexer.Op or SqlLexer.Minus or SqlLexer.Slash when i + 1 >= text.Length || !SqlLexer.IsOperatorChar(text[i + 1]):
                        // A one-character operator; longer ones, and "--" or "/*", are the lexer's.
                        scanner.AcceptOther(new SqlToken(SqlTokenKind.Operator, i, 1));
                        i++;
                        continue;
                    case SqlLexer.Colon:
                        var cast = i + 1 < text.Length && text[i + 1] == ':';
                        scanner.AcceptOther(cast ? new SqlToken(SqlTokenKind.Cast, i, 2) : new SqlToken(SqlTokenKind.Operator, i, 1));
                        i += cast ? 2 : 1;
                        continue;
                    case SqlLexer.Digit:
                    {
                        // Plain digits; anything that may make a longer number (1.5, 1e3, 1_000, 0x1F) is the lexer's.
                        var end = i + 1;
                        while (end < text.Length && char.IsAsciiDigit(text[end]))
                        {
                            end++;
                        }

                        if (end < text.Length && text[end] is '.' or '_' or 'e' or 'E' or 'x' or 'X' or 'o' or 'O' or 'b' or 'B')
                        {
                            break;
                        }

                        scanner.AcceptOther(new SqlToken(SqlTokenKind.Number, i, end - i));
                        i = end;
                        continue;
                    }

                    case SqlLexer.Quote:
                    {
                        // A short '…' without '' inside; others (and an unterminated one) are the lexer's.
                        var end = i + 1;
                        var limit = Math.Min(text.Length, i + 64);
                        while (end < limit && text[end] != '\'')
                        {
                            end++;
                        }

                        if (end >= limit || (end + 1 < text.Length && text[end + 1] == '\''))
                        {
                            break;
                        }

                        scanner.AcceptOther(new SqlToken(SqlTokenKind.String, i, end + 1 - i));
                        i = end + 1;
                        continue;
                    }
                    case SqlLexer.Period when i + 1 >= text.Length || !char.IsAsciiDigit(text[i + 1]):
                        scanner.AcceptDot(new SqlToken(SqlTokenKind.Dot, i, 1));
                        i++;
                        continue;
                    case SqlLexer.LeftParen:
                        _depth++;
                        scanner.AcceptLeftParen(new SqlToken(SqlTokenKind.LeftParen, i, 1), _depth - 1);
                        i++;
                        continue;
                    case SqlLexer.RightParen:
                        if (_depth == 0)
                        {
                            _unbalanced = true;
                        }
                        else
                        {
                            _depth--;
                        }

                        scanner.AcceptRightParen(new SqlToken(SqlTokenKind.RightParen, i, 1), _depth);
                        i++;
                        continue;
                }
            }

            _lexer.Position = i;
            if (!Next(out var token))
            {
                return;
            }

            scanner.Accept(token, token.Kind == SqlTokenKind.LeftParen ? _depth - 1 : _depth, _lexer);
            i = _lexer.Position;
        }
    }

    private static void Verdict(ref QueryScanner scanner, StatementKind baseKind, string baseReason, out StatementKind kind, out string reason)
    {
        if (scanner.SessionReason is { } session)
        {
            (kind, reason) = (StatementKind.SessionState, session);
        }
        else if (baseKind == StatementKind.Read && scanner.WriteReason is { } write)
        {
            (kind, reason) = (StatementKind.Write, write);
        }
        else
        {
            (kind, reason) = (baseKind, baseReason);
        }
    }

    /// <summary>
    /// EXPLAIN [ANALYZE] [VERBOSE] stmt, or EXPLAIN (option [value], …) stmt. Without ANALYZE nothing executes (Read);
    /// with it the statement runs and is classified as such.
    /// </summary>
    private void ClassifyExplain(out StatementKind kind, out string reason)
    {
        var analyze = false;
        if (!Next(out var token))
        {
            (kind, reason) = (StatementKind.Read, ClassificationReasons.Explain);
            return;
        }

        if (token.Kind == SqlTokenKind.LeftParen)
        {
            while (Next(out token) && _depth > 0)
            {
                if (token.Is(SqlKeyword.Analyze) || token.Is(SqlKeyword.Analyse))
                {
                    // ANALYZE alone is true; ANALYZE false/off/no/0 is false; any other value counts as true.
                    var value = Peek();
                    if (value.Kind is SqlTokenKind.Comma or SqlTokenKind.RightParen or SqlTokenKind.None)
                    {
                        analyze = true;
                    }
                    else
                    {
                        Next(out value);
                        var text = value.Text(_sql);
                        if (value.Kind == SqlTokenKind.String && text.Length >= 2 && text[0] == '\'')
                        {
                            text = text[1..^1];
                        }

                        analyze = !IsFalse(text);
                    }
                }
            }

            if (!Next(out token))
            {
                (kind, reason) = (StatementKind.Read, ClassificationReasons.Explain);
                return;
            }
        }
        else
        {
            while (token.Is(SqlKeyword.Analyze) || token.Is(SqlKeyword.Analyse) || token.Is(SqlKeyword.Verbose))
            {
                analyze |= !token.Is(SqlKeyword.Verbose);
                if (!Next(out token))
                {
                    (kind, reason) = (StatementKind.Read, ClassificationReasons.Explain);
                    return;
                }
            }
        }

        if (!analyze)
        {
            // EXPLAIN EXECUTE needs the prepared statement, which lives in the primary's session.
            (kind, reason) = token.Is(SqlKeyword.Execute)
                ? (StatementKind.Write, ClassificationReasons.ExplainExecute)
                : (StatementKind.Read, ClassificationReasons.Explain);
            return;
        }

        Classify(token, out kind, out reason);
        if (kind == StatementKind.Write)
        {
            reason = ClassificationReasons.ExplainAnalyzeOfWrite;
        }
        else if (kind == StatementKind.Read)
        {
            reason = ClassificationReasons.ExplainAnalyze;
        }
    }

    /// <summary>
    /// COPY table [(columns)] FROM … writes. COPY table|(query) TO STDOUT reads (unless the query writes). COPY … TO a
    /// server file or PROGRAM has side effects on the server, so it goes to the primary.
    /// </summary>
    private void ClassifyCopy(out StatementKind kind, out string reason)
    {
        var scanner = new QueryScanner(_sql, _catalog);
        (kind, reason) = (StatementKind.Write, ClassificationReasons.Copy);
        if (!Next(out var token))
        {
            return;
        }

        if (token.Is(SqlKeyword.Binary) && !Next(out token))
        {
            return;
        }

        if (token.Kind == SqlTokenKind.LeftParen)
        {
            do
            {
                scanner.Accept(token, token.Kind == SqlTokenKind.LeftParen ? _depth - 1 : _depth, _lexer);
            }
            while (_depth > 0 && Next(out token));
        }
        else if (token.IsName)
        {
            while (Peek().Kind == SqlTokenKind.Dot)
            {
                if (!Next(out _) || !Next(out token) || !token.IsName)
                {
                    return;
                }
            }

            if (Peek().Kind == SqlTokenKind.LeftParen)
            {
                // A column list: names only, nothing to check.
                while (Next(out token) && _depth > 0)
                {
                }
            }
        }
        else
        {
            return;
        }

        if (!Next(out token))
        {
            return;
        }

        if (token.Is(SqlKeyword.From))
        {
            reason = ClassificationReasons.CopyFrom;
            return;
        }

        if (!token.Is(SqlKeyword.To) || !Next(out var target))
        {
            return;
        }

        if (target.Is(SqlKeyword.Stdout))
        {
            Verdict(ref scanner, StatementKind.Read, ClassificationReasons.CopyTo, out kind, out reason);
            return;
        }

        reason = target.Is(SqlKeyword.Program) ? ClassificationReasons.CopyToProgram
            : target.Kind == SqlTokenKind.String ? ClassificationReasons.CopyToFile
            : ClassificationReasons.Copy;
        Verdict(ref scanner, StatementKind.Write, reason, out kind, out reason);
    }

    /// <summary>SET LOCAL / TRANSACTION / CONSTRAINTS last only for the transaction; every other SET changes the session.</summary>
    private void ClassifySet(out StatementKind kind, out string reason)
    {
        if (!Next(out var token))
        {
            (kind, reason) = (StatementKind.Write, ClassificationReasons.ForKeyword(SqlKeyword.Set));
            return;
        }

        (kind, reason) = token.Keyword switch
        {
            SqlKeyword.Local => (StatementKind.Write, ClassificationReasons.SetLocal),
            SqlKeyword.Transaction => (StatementKind.Write, ClassificationReasons.SetTransaction),
            SqlKeyword.Constraints => (StatementKind.Write, ClassificationReasons.SetConstraints),
            _ => (StatementKind.SessionState, ClassificationReasons.SetSession),
        };
    }

    /// <summary>CREATE [OR REPLACE] [GLOBAL|LOCAL] TEMP|TEMPORARY … and objects created in pg_temp live in the session.</summary>
    private void ClassifyCreate(out StatementKind kind, out string reason)
    {
        (kind, reason) = (StatementKind.Write, ClassificationReasons.ForKeyword(SqlKeyword.Create));
        if (!Next(out var token))
        {
            return;
        }

        if (token.Is(SqlKeyword.Or) && !(Next(out _) && Next(out token)))
        {
            return;
        }

        if ((token.Is(SqlKeyword.Global) || token.Is(SqlKeyword.Local)) && !Next(out token))
        {
            return;
        }

        if (token.Is(SqlKeyword.Temp) || token.Is(SqlKeyword.Temporary) || SkipRest())
        {
            (kind, reason) = (StatementKind.SessionState, ClassificationReasons.CreateTemp);
        }
    }
}
