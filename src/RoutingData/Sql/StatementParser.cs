using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RoutingData.Sql;

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

    // What the query last scanned by ScanQuery had: SELECT … INTO; a call the planner may run that is not read-only.
    private bool _selectInto;
    private bool _mayRunWhenPlanned;

    // Whether ScanQuery checks every call (EXPLAIN without ANALYZE).
    private bool _checkEveryCall;

    // What the statement last classified as transaction control does, when it is one of the two ends of a read-only block.
    private TransactionEnd _transactionEnd;

    public StatementParser(ReadOnlySpan<char> sql, FunctionCatalog catalog, bool fastPath = true)
    {
        _sql = sql;
        _catalog = catalog;
        _lexer = new SqlLexer(sql);
        _fastPath = fastPath;
    }

    public readonly ReadPreference? Hint => _lexer.Hint;

    /// <summary>
    /// For the statement <see cref="TryClassifyNext"/> last returned as transaction control: whether it begins a
    /// read-only transaction a hot standby accepts, or ends a transaction plainly.
    /// </summary>
    public readonly TransactionEnd LastTransactionEnd => _transactionEnd;

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
            _transactionEnd = TransactionEnd.None;
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
            // DO and CALL run code the text does not show: it may write and may leave session state (set_config, temp tables).
            case SqlKeyword.Reset or SqlKeyword.Discard or SqlKeyword.Load or SqlKeyword.Listen or SqlKeyword.Unlisten
                or SqlKeyword.Deallocate or SqlKeyword.Declare or SqlKeyword.Do or SqlKeyword.Call:
                kind = StatementKind.SessionState;
                reason = ClassificationReasons.ForKeyword(keyword);
                return;
            case SqlKeyword.Begin or SqlKeyword.Start or SqlKeyword.Commit or SqlKeyword.End or SqlKeyword.Rollback
                or SqlKeyword.Abort or SqlKeyword.Savepoint or SqlKeyword.Release:
                kind = StatementKind.TransactionControl;
                reason = ClassificationReasons.ForKeyword(keyword);
                _transactionEnd = keyword switch
                {
                    SqlKeyword.Begin when IsReadOnlyBegin() => TransactionEnd.ReadOnlyBegin,
                    SqlKeyword.Start when Peek().Is(SqlKeyword.Transaction) && IsReadOnlyBegin() => TransactionEnd.ReadOnlyBegin,
                    SqlKeyword.Commit or SqlKeyword.End or SqlKeyword.Rollback when IsPlainEnd() => TransactionEnd.PlainEnd,
                    _ => TransactionEnd.None,
                };
                return;
            default:
                // EXECUTE/FETCH/MOVE/CLOSE need the session that prepared or declared (the primary's); DML, DDL,
                // maintenance and anything unrecognised must run on the primary.
                kind = StatementKind.Write;
                reason = first.Kind == SqlTokenKind.Identifier ? ClassificationReasons.ForKeyword(keyword) : ClassificationReasons.Unrecognized;
                return;
        }
    }

    /// <summary>
    /// The rest of a BEGIN / START: only transaction modes, READ ONLY among them, and nothing a hot standby refuses
    /// (READ WRITE, SERIALIZABLE). Consumes the statement.
    /// </summary>
    private bool IsReadOnlyBegin()
    {
        var readOnly = false;
        while (Next(out var token))
        {
            if (token.Kind == SqlTokenKind.Comma)
            {
                continue;
            }

            if (token.Kind != SqlTokenKind.Identifier)
            {
                return false;
            }

            var word = token.Text(_sql);
            if (token.Is(SqlKeyword.Transaction) || token.Is(SqlKeyword.Not) || token.Is(SqlKeyword.Deferrable)
                || SqlKeywords.Is(word, "work") || SqlKeywords.Is(word, "isolation") || SqlKeywords.Is(word, "level"))
            {
                continue;
            }

            if (SqlKeywords.Is(word, "repeatable"))
            {
                if (!Next(out var level) || level.Kind != SqlTokenKind.Identifier || !SqlKeywords.Is(level.Text(_sql), "read"))
                {
                    return false;
                }

                continue;
            }

            if (!SqlKeywords.Is(word, "read") || !Next(out var next) || next.Kind != SqlTokenKind.Identifier)
            {
                return false; // SERIALIZABLE (a standby refuses it), or anything else.
            }

            var mode = next.Text(_sql);
            if (next.Is(SqlKeyword.Only))
            {
                readOnly = true;
            }
            else if (!SqlKeywords.Is(mode, "committed") && !SqlKeywords.Is(mode, "uncommitted"))
            {
                return false; // READ WRITE.
            }
        }

        return readOnly;
    }

    /// <summary>The rest of a COMMIT / END / ROLLBACK: at most WORK or TRANSACTION (no AND CHAIN, PREPARED, TO SAVEPOINT). Consumes the statement.</summary>
    private bool IsPlainEnd()
    {
        if (!Next(out var token))
        {
            return true;
        }

        return (token.Is(SqlKeyword.Transaction) || (token.Kind == SqlTokenKind.Identifier && SqlKeywords.Is(token.Text(_sql), "work"))) && !Next(out _);
    }

    private void ScanQuery(in SqlToken first, string readReason, out StatementKind kind, out string reason)
    {
        var scanner = new QueryScanner(_sql, _catalog) { CheckEveryCall = _checkEveryCall };
        scanner.Accept(first, first.Kind == SqlTokenKind.LeftParen ? _depth - 1 : _depth);
        if (_fastPath)
        {
            ScanRest(ref scanner);
        }
        else
        {
            while (Next(out var token))
            {
                scanner.Accept(token, token.Kind == SqlTokenKind.LeftParen ? _depth - 1 : _depth);
            }
        }

        Verdict(ref scanner, StatementKind.Read, readReason, out kind, out reason);
        _selectInto = scanner.SelectInto;
        _mayRunWhenPlanned = scanner.MayRunWhenPlanned;
    }

    /// <summary>
    /// Feeds the rest of the statement to <paramref name="scanner"/>, as <see cref="Next"/> would, but lexes the common
    /// tokens (words, plain numbers and strings, $1, ",", ".", "(", ")", "[", "]", "::", one-character operators) itself
    /// rather than through the lexer: the hot path of classifying a long query. Everything else (comments, quoted
    /// identifiers, longer operators, ";", the end) goes through <see cref="Next"/>.
    /// </summary>
    /// <remarks>
    /// The text is taken 64 characters at a time as bit masks (<see cref="SqlLexer.Masks"/>), one of which marks where
    /// tokens start; <see cref="ScanBlock"/> goes from one start to the next with a trailing-zero count, with no loop
    /// over whitespace or word characters, and puts each token into the scanner's ring with one store. It calls
    /// nothing, so that its state stays in registers: the "(", ")" and possible clause key words that the scanner must
    /// act on wait as events until it returns.
    /// </remarks>
    private void ScanRest(ref QueryScanner scanner)
    {
        if (_statementEnded)
        {
            return;
        }

        var text = _sql;
        var state = new BlockScan { Count = scanner.Count, Depth = _depth };
        var i = _lexer.Position;
        while (i < text.Length)
        {
            // A new block, from a position where a token (or whitespace) starts.
            var masks = SqlLexer.Masks(text, i);
            state.Block = i;
            state.Identifier = masks.Identifier;
            state.Words = masks.Words;
            state.Starts = masks.Starts;
            state.Quotes = masks.Quotes;
            while (true)
            {
                state.OperatorParens = scanner.OperatorParens;
                var stop = ScanBlock(text, ref scanner.Ring, ref scanner.Events, ref state);
                if (state.Events > 0)
                {
                    scanner.Count = state.Count;
                    scanner.ProcessEvents(state.Events);
                    state.Events = 0;
                }

                if (stop >= 0)
                {
                    i = stop;
                    break;
                }

                // The token at ~stop is for the lexer.
                var end = Special(ref scanner, ref state, ~stop);
                if (end < 0)
                {
                    return;
                }

                var at = end - state.Block;
                if (at >= 64)
                {
                    i = end;
                    break;
                }

                state.Resume(at);
            }
        }

        _depth = state.Depth;
        scanner.Count = state.Count;
        LexedToken(ref scanner, text.Length);
    }

    /// <summary>
    /// The tokens of the block in <paramref name="state"/>, from its next start bit on, into <paramref name="ring"/>
    /// (and <paramref name="events"/>); stops at the end of the block, returning where the next one starts, or at a
    /// token for the lexer (see <see cref="Special"/>), returning the bitwise complement of its position.
    /// </summary>
    private static int ScanBlock(ReadOnlySpan<char> text, ref ulong ring, ref ulong events, ref BlockScan state)
    {
        var length = text.Length;
        var starts = state.Starts;
        var words = state.Words;
        var identifier = state.Identifier;
        var block = state.Block;
        var count = state.Count;
        var depth = state.Depth;
        var pending = state.Events;
        var operatorParens = state.OperatorParens;
        ref var chars = ref Unsafe.Add(ref MemoryMarshal.GetReference(text), block);

        // A word's entry is this plus its offset and its length << 32.
        var wordBase = QueryScanner.WordEntry(block, 0);
        int stop;
        while (true)
        {
            if (starts == 0)
            {
                stop = block + 64;
                break;
            }

            var offset = BitOperations.TrailingZeroCount(starts);
            starts &= starts - 1;
            int end;
            if ((words & (1UL << offset)) != 0)
            {
                // A plain word that ends in the block: the common case, told by its mask bit alone.
                var run = BitOperations.TrailingZeroCount(~(identifier >> offset));
                Unsafe.Add(ref ring, (nint)(uint)(count & (QueryScanner.RingSize - 1))) = wordBase + (uint)offset + ((ulong)(uint)run << 32);
                var first = Unsafe.Add(ref chars, offset);
                if (QueryScanner.MayBeClauseKeyword(first, run) && QueryScanner.MayEndClauseKeyword(first, Unsafe.Add(ref chars, offset + run - 1), run))
                {
                    Unsafe.Add(ref events, pending++) = QueryScanner.Event(count, depth);
                }

                count++;
                continue;
            }

            // Within the text: start bits are clear past its end.
            var i = block + offset;
            var c = Unsafe.Add(ref chars, offset);
            switch (SqlLexer.ClassOf(c))
            {
                case SqlLexer.Comma:
                    Unsafe.Add(ref ring, (nint)(uint)(count++ & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.Comma, i, 1);
                    continue;
                case SqlLexer.Period when i + 1 >= length || !char.IsAsciiDigit(Unsafe.Add(ref chars, offset + 1)):
                    // The name after it may be a function of the row (attribute notation): an event.
                    Unsafe.Add(ref events, pending++) = QueryScanner.Event(count, depth);
                    Unsafe.Add(ref ring, (nint)(uint)(count++ & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.Dot, i, 1);
                    continue;
                case SqlLexer.LeftParen:
                    if (depth < QueryScanner.MaxLevel)
                    {
                        // As the scanner will set it for this level, or more.
                        var bit = 1UL << (depth + 1);
                        operatorParens = QueryScanner.MayBeOperatorKeyword(Unsafe.Add(ref ring, (nint)(uint)((count - 1) & (QueryScanner.RingSize - 1))))
                            ? operatorParens | bit
                            : operatorParens & ~bit;
                    }

                    Unsafe.Add(ref ring, (nint)(uint)(count & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.LeftParen, i, 1);
                    Unsafe.Add(ref events, pending++) = QueryScanner.Event(count++, depth++);
                    continue;
                case SqlLexer.RightParen when depth > 0:
                    Unsafe.Add(ref ring, (nint)(uint)(count & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.RightParen, i, 1);
                    if (--depth >= QueryScanner.MaxLevel || (operatorParens & (1UL << (depth + 1))) != 0)
                    {
                        // Only a ")" that may close OPERATOR(…) needs the scanner.
                        Unsafe.Add(ref events, pending++) = QueryScanner.Event(count, depth);
                    }

                    count++;
                    continue;
                case SqlLexer.Op or SqlLexer.Minus or SqlLexer.Slash when i + 1 >= length || !SqlLexer.IsOperatorChar(Unsafe.Add(ref chars, offset + 1)):
                    // A one-character operator; longer ones, and "--" or "/*", are the lexer's.
                    Unsafe.Add(ref ring, (nint)(uint)(count++ & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.Operator, i, 1);
                    continue;
                case SqlLexer.Colon:
                    if (i + 1 < length && Unsafe.Add(ref chars, offset + 1) == ':')
                    {
                        Unsafe.Add(ref ring, (nint)(uint)(count++ & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.Cast, i, 2);
                        end = i + 2;
                        break;
                    }

                    Unsafe.Add(ref ring, (nint)(uint)(count++ & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.Operator, i, 1);
                    continue;
                case SqlLexer.LeftBracket:
                    Unsafe.Add(ref ring, (nint)(uint)(count++ & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.LeftBracket, i, 1);
                    continue;
                case SqlLexer.RightBracket:
                    Unsafe.Add(ref ring, (nint)(uint)(count++ & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.RightBracket, i, 1);
                    continue;
                case SqlLexer.Letter when offset > 0 && (i + 1 >= length || Unsafe.Add(ref chars, offset + 1) is not ('\'' or '&')):
                    // A word that may run on past the block (not E'…', U&"…" and the like): the next block starts with it.
                    stop = i;
                    goto Stop;
                case SqlLexer.Digit:
                    // Plain digits; anything that may make a longer number (1.5, 1e3, 1_000, 0x1F) is the lexer's.
                    end = i + 1;
                    while (end < length && char.IsAsciiDigit(Unsafe.Add(ref chars, end - block)))
                    {
                        end++;
                    }

                    if (end < length && Unsafe.Add(ref chars, end - block) is '.' or '_' or 'e' or 'E' or 'x' or 'X' or 'o' or 'O' or 'b' or 'B')
                    {
                        stop = ~i;
                        goto Stop;
                    }

                    Unsafe.Add(ref ring, (nint)(uint)(count++ & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.Number, i, end - i);
                    break;
                case SqlLexer.Quote:
                {
                    // '…' that ends in this block, without '' inside; one that may end in the next block starts it. Others
                    // (and an unterminated one) are the lexer's.
                    var after = offset < 63 ? state.Quotes >> (offset + 1) : 0;
                    end = i + 2 + BitOperations.TrailingZeroCount(after);
                    if (after == 0 && offset > 0)
                    {
                        stop = i;
                        goto Stop;
                    }

                    if (after == 0 || (end < length && Unsafe.Add(ref chars, end - block) == '\''))
                    {
                        stop = ~i;
                        goto Stop;
                    }

                    Unsafe.Add(ref ring, (nint)(uint)(count++ & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.String, i, end - i);
                    break;
                }

                case SqlLexer.Dollar when i + 1 < length && char.IsAsciiDigit(Unsafe.Add(ref chars, offset + 1)):
                    end = i + 2;
                    while (end < length && char.IsAsciiDigit(Unsafe.Add(ref chars, end - block)))
                    {
                        end++;
                    }

                    Unsafe.Add(ref ring, (nint)(uint)(count++ & (QueryScanner.RingSize - 1))) = QueryScanner.Entry(SqlTokenKind.Parameter, i, end - i);
                    break;
                default:
                    stop = ~i;
                    goto Stop;
            }

            // After a token that the start bits do not know the end of.
            var at = end - block;
            if (at >= 64)
            {
                stop = end;
                break;
            }

            starts = BlockScan.ResumeStarts(starts, identifier, at);
            words = BlockScan.ResumeWords(words, identifier, at);
        }

    Stop:
        state.Starts = starts;
        state.Words = words;
        state.Count = count;
        state.Depth = depth;
        state.Events = pending;
        return stop;
    }

    /// <summary>
    /// The token at <paramref name="position"/> that <see cref="ScanBlock"/> stopped at, into the scanner; its end, or
    /// -1 at the end of the statement.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int Special(ref QueryScanner scanner, ref BlockScan state, int position)
    {
        var text = _sql;
        var c = text[position];
        if (SqlLexer.ClassOf(c) == SqlLexer.Letter)
        {
            var end = SqlLexer.WordEnd(text, position, out _);
            var length = end - position;
            if (length > 1 || !(end < text.Length && text[end] is '\'' or '&'))
            {
                // A word that ran on past its block.
                scanner.Count = state.Count;
                scanner.Accept(new SqlToken(SqlTokenKind.Identifier, position, length), state.Depth);
                if (QueryScanner.MayBeClauseKeyword(c, length) && QueryScanner.MayEndClauseKeyword(c, text[end - 1], length))
                {
                    scanner.AcceptClauseCandidate(state.Count, state.Depth);
                }

                state.Count = scanner.Count;
                return end;
            }
        }

        if (c == ')' && state.Depth == 0)
        {
            _unbalanced = true;
            scanner.Count = state.Count;
            scanner.AcceptRightParen(position, 0);
            state.Count = scanner.Count;
            return position + 1;
        }

        _depth = state.Depth;
        scanner.Count = state.Count;
        if (!LexedToken(ref scanner, position))
        {
            return -1;
        }

        state.Depth = _depth;
        state.Count = scanner.Count;
        return _lexer.Position;
    }

    /// <summary>
    /// The next token through <see cref="Next"/> from <paramref name="position"/>, fed to <paramref name="scanner"/>;
    /// false at the end of the statement.
    /// </summary>
    private bool LexedToken(ref QueryScanner scanner, int position)
    {
        _lexer.Position = position;
        if (!Next(out var token))
        {
            return false;
        }

        scanner.Accept(token, token.Kind == SqlTokenKind.LeftParen ? _depth - 1 : _depth);
        return true;
    }

    /// <summary>Where <see cref="ScanBlock"/> is in a block, and what it has found.</summary>
    private struct BlockScan
    {
        /// <summary>Where the block starts in the text.</summary>
        public int Block;

        /// <summary>The block's masks (see <see cref="BlockMasks"/>), start bits cleared as tokens are taken.</summary>
        public ulong Starts;

        public ulong Words;

        public ulong Identifier;

        public ulong Quotes;

        /// <summary>The scanner's token count.</summary>
        public int Count;

        /// <summary>The paren depth.</summary>
        public int Depth;

        /// <summary>Events waiting in the scanner's buffer.</summary>
        public int Events;

        /// <summary>
        /// <see cref="QueryScanner.OperatorParens"/>, and for parens opened in the block since, set where the word
        /// before may be OPERATOR.
        /// </summary>
        public ulong OperatorParens;

        /// <summary>
        /// The start bits from block offset <paramref name="at"/> (below 64) on, where a token that the start bits do not
        /// know the end of ended. A word may start right there (1abc, $1abc, $$x$$abc), in what the masks saw as one.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong ResumeStarts(ulong starts, ulong identifier, int at) =>
            (starts & (ulong.MaxValue << at)) | (identifier & (1UL << at));

        /// <summary>The word bits for <see cref="ResumeStarts"/>: a word started there may run on past the block.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong ResumeWords(ulong words, ulong identifier, int at) =>
            (~identifier >> at) == 0 ? words & ~(1UL << at) : words;

        public void Resume(int at)
        {
            Starts = ResumeStarts(Starts, Identifier, at);
            Words = ResumeWords(Words, Identifier, at);
        }
    }

    private static void Verdict(ref QueryScanner scanner, StatementKind baseKind, string baseReason, out StatementKind kind, out string reason)
    {
        scanner.Complete();
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
            var expectName = true;
            while (Next(out token) && _depth > 0)
            {
                if (token.Kind == SqlTokenKind.Comma && _depth == 1)
                {
                    expectName = true;
                    continue;
                }

                if (!expectName || _depth != 1)
                {
                    continue;
                }

                expectName = false;
                var option = ExplainOption(token);
                if (option == ExplainOptionKind.Harmless)
                {
                    continue;
                }

                if (option == ExplainOptionKind.Unknown)
                {
                    // An option this parser does not know (a future one, or a quoted spelling) may make it execute.
                    analyze = true;
                    continue;
                }

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
                    if (value.Kind is SqlTokenKind.String or SqlTokenKind.QuotedIdentifier && text.Length >= 2 && text[0] is '\'' or '"')
                    {
                        text = text[1..^1];
                    }

                    analyze |= !IsFalse(text);
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
            ClassifyPlainExplain(token, out kind, out reason);
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
    /// EXPLAIN without ANALYZE of <paramref name="first"/>…: the statement is only planned, so a read, except that
    /// <list type="bullet">
    /// <item>EXPLAIN EXECUTE needs the prepared statement, which lives in the primary's session;</item>
    /// <item>planning CREATE TABLE … AS or SELECT … INTO resolves the new relation's schema, which for a temporary one a
    /// standby refuses ("cannot create temporary tables during recovery");</item>
    /// <item>the planner folds IMMUTABLE calls and runs STABLE ones to estimate (txid_current() in a WHERE clause,
    /// pg_walfile_name('0/1'), a function in generate_series' arguments): a call that may run then and is not known to be
    /// read-only makes it a write.</item>
    /// </list>
    /// </summary>
    private void ClassifyPlainExplain(in SqlToken first, out StatementKind kind, out string reason)
    {
        if (first.Is(SqlKeyword.Execute))
        {
            (kind, reason) = (StatementKind.Write, ClassificationReasons.ExplainExecute);
            return;
        }

        if (first.Is(SqlKeyword.Create))
        {
            (kind, reason) = (StatementKind.Write, ClassificationReasons.ExplainCreatesRelation);
            return;
        }

        // The whole statement through the scanner (a query, DML, DECLARE): only what it finds about calls and INTO counts.
        _checkEveryCall = true;
        ScanQuery(first, ClassificationReasons.Explain, out _, out _);
        _checkEveryCall = false;
        (kind, reason) = _selectInto ? (StatementKind.Write, ClassificationReasons.ExplainCreatesRelation)
            : _mayRunWhenPlanned ? (StatementKind.Write, ClassificationReasons.ExplainPlansCall)
            : (StatementKind.Read, ClassificationReasons.Explain);
    }

    /// <summary>
    /// An EXPLAIN option name as PostgreSQL reads it: unquoted names fold to lower case, quoted ones keep their case
    /// (<c>"analyze"</c> is ANALYZE). Only options known not to execute anything are harmless.
    /// </summary>
    private readonly ExplainOptionKind ExplainOption(in SqlToken token)
    {
        var text = token.Text(_sql);
        Span<char> buffer = stackalloc char[16];
        scoped ReadOnlySpan<char> name;
        if (token.Kind == SqlTokenKind.Identifier && text.Length <= buffer.Length)
        {
            name = FunctionCatalog.FoldCase(text, buffer);
        }
        else if (token.Kind == SqlTokenKind.QuotedIdentifier && text.Length >= 2 && text.Length - 2 <= buffer.Length && text.IndexOf("\"\"", StringComparison.Ordinal) < 0)
        {
            name = text[1..^1];
        }
        else
        {
            return ExplainOptionKind.Unknown;
        }

        return name switch
        {
            "analyze" or "analyse" => ExplainOptionKind.Analyze,
            "verbose" or "costs" or "settings" or "generic_plan" or "buffers" or "wal" or "timing" or "summary" or "format" or "serialize" or "memory" => ExplainOptionKind.Harmless,
            _ => ExplainOptionKind.Unknown,
        };
    }

    private enum ExplainOptionKind : byte
    {
        Harmless,
        Analyze,
        Unknown,
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
                scanner.Accept(token, token.Kind == SqlTokenKind.LeftParen ? _depth - 1 : _depth);
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
