using System.Runtime.CompilerServices;

namespace RoutingData.Routing;

/// <summary>
/// Looks through the tokens of a query (SELECT, VALUES, TABLE, WITH, SHOW, a parenthesised query, or the query of
/// COPY/EXPLAIN) at every depth for anything that makes it not read-only: a data-modifying statement, SELECT INTO, a
/// locking clause, or a call of a function that is not known to be read-only. It errs towards "not read-only": a name
/// followed by "(" is a function call unless the grammar says it cannot be.
/// </summary>
internal ref struct QueryScanner
{
    /// <summary>Paren levels tracked in the 64-bit masks below; deeper queries go to the primary.</summary>
    private const int MaxLevel = 62;

    private const int MaxNameLength = 128;

    private readonly ReadOnlySpan<char> _sql;
    private readonly FunctionCatalog _catalog;

    // The two tokens before the current one (their kinds and key words: all that is needed of them).
    private Tag _prev;
    private Tag _prev2;

    // The dotted name that ends at (or before a dot at) _prev: its part count, last part, the part before that, and
    // the two tokens before its first part, which decide whether "name(" is a call.
    private int _nameParts;
    private SqlToken _nameLast;
    private SqlToken _nameQualifier;
    private Tag _context;
    private Tag _context2;
    private bool _contextIsOperatorParen;

    private bool _lastCloseWasOperatorParen;

    // Bit n is for paren level n: inside a WITH list before its main query; inside GROUP BY; the parens of OPERATOR(…).
    private ulong _cteLists;
    private ulong _groupBy;
    private ulong _operatorParens;

    public QueryScanner(ReadOnlySpan<char> sql, FunctionCatalog catalog)
    {
        _sql = sql;
        _catalog = catalog;
    }

    /// <summary>The first reason the query must run on the primary, or null.</summary>
    public string? WriteReason { get; private set; }

    /// <summary>The first reason the query leaves session state behind (and so pins), or null.</summary>
    public string? SessionReason { get; private set; }

    /// <summary>
    /// Takes the next token. <paramref name="level"/> is the paren depth the token sits at (for "(" and ")" the level
    /// outside them); <paramref name="lexer"/> is positioned after the token, for looking ahead.
    /// </summary>
    public void Accept(in SqlToken token, int level, in SqlLexer lexer)
    {
        switch (token.Kind)
        {
            case SqlTokenKind.Identifier:
                AcceptIdentifier(token, level, lexer);
                break;
            case SqlTokenKind.QuotedIdentifier:
                TrackName(token);
                Shift(token);
                break;
            case SqlTokenKind.Dot:
                AcceptDot(token);
                break;
            case SqlTokenKind.LeftParen:
                AcceptLeftParen(token, level);
                break;
            case SqlTokenKind.RightParen:
                AcceptRightParen(token, level);
                break;
            default:
                AcceptOther(token);
                break;
        }
    }

    /// <summary><see cref="Accept"/> for an unquoted identifier or key word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AcceptIdentifier(in SqlToken token, int level, in SqlLexer lexer)
    {
        if (ClauseKeywords[(int)token.Keyword])
        {
            AcceptKeyword(token.Keyword, level, lexer);
        }

        TrackName(token);
        Shift(token);
    }

    /// <summary><see cref="Accept"/> for ".", which keeps a name going: schema.function(…).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AcceptDot(in SqlToken token) => Shift(token);

    /// <summary><see cref="Accept"/> for "(" at <paramref name="level"/> (the level outside it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AcceptLeftParen(in SqlToken token, int level)
    {
        OpenParen(level);
        _nameParts = 0;
        Shift(token);
    }

    /// <summary><see cref="Accept"/> for ")" at <paramref name="level"/> (the level outside it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AcceptRightParen(in SqlToken token, int level)
    {
        _lastCloseWasOperatorParen = level < MaxLevel && Bit(_operatorParens, level + 1);
        _nameParts = 0;
        Shift(token);
    }

    /// <summary><see cref="Accept"/> for any token that ends a name and needs nothing else: ",", operators, literals, ….</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AcceptOther(in SqlToken token)
    {
        _nameParts = 0;
        Shift(token);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Shift(in SqlToken token)
    {
        _prev2 = _prev;
        _prev = new Tag(token.Kind, token.Keyword);
    }

    private static bool Bit(ulong mask, int level) => (mask & (1UL << level)) != 0;

    private static ulong With(ulong mask, int level, bool value) => value ? mask | (1UL << level) : mask & ~(1UL << level);

    private static bool EndsExpression(Tag token) => token.Kind switch
    {
        SqlTokenKind.QuotedIdentifier or SqlTokenKind.RightParen or SqlTokenKind.RightBracket or SqlTokenKind.String
            or SqlTokenKind.Number or SqlTokenKind.Parameter => true,
        SqlTokenKind.Identifier => token.Keyword is SqlKeyword.None or SqlKeyword.Null or SqlKeyword.True or SqlKeyword.False or SqlKeyword.End,
        _ => false,
    };

    /// <summary>Reserved and column-name key words that can never name a function, so "word(" is syntax.</summary>
    private static bool IsNeverFunction(SqlKeyword keyword) => keyword switch
    {
        SqlKeyword.All or SqlKeyword.Analyse or SqlKeyword.Analyze or SqlKeyword.And or SqlKeyword.Any or SqlKeyword.Array
            or SqlKeyword.As or SqlKeyword.Asc or SqlKeyword.Asymmetric or SqlKeyword.Between or SqlKeyword.Both
            or SqlKeyword.Case or SqlKeyword.Cast or SqlKeyword.Check or SqlKeyword.Collate or SqlKeyword.Column
            or SqlKeyword.Constraint or SqlKeyword.Create or SqlKeyword.CurrentCatalog or SqlKeyword.CurrentDate
            or SqlKeyword.CurrentRole or SqlKeyword.CurrentTime or SqlKeyword.CurrentTimestamp or SqlKeyword.CurrentUser
            or SqlKeyword.Default or SqlKeyword.Deferrable or SqlKeyword.Desc or SqlKeyword.Distinct or SqlKeyword.Do
            or SqlKeyword.Else or SqlKeyword.End or SqlKeyword.Except or SqlKeyword.Exists or SqlKeyword.False
            or SqlKeyword.Fetch or SqlKeyword.For or SqlKeyword.Foreign or SqlKeyword.From or SqlKeyword.Grant
            or SqlKeyword.Group or SqlKeyword.Grouping or SqlKeyword.Having or SqlKeyword.In or SqlKeyword.Initially
            or SqlKeyword.Intersect or SqlKeyword.Into or SqlKeyword.Lateral or SqlKeyword.Leading or SqlKeyword.Limit
            or SqlKeyword.Localtime or SqlKeyword.Localtimestamp or SqlKeyword.Not or SqlKeyword.Null or SqlKeyword.Offset
            or SqlKeyword.On or SqlKeyword.Only or SqlKeyword.Operator or SqlKeyword.Or or SqlKeyword.Order
            or SqlKeyword.Placing or SqlKeyword.Primary or SqlKeyword.References or SqlKeyword.Returning or SqlKeyword.Row
            or SqlKeyword.Select or SqlKeyword.SessionUser or SqlKeyword.Some or SqlKeyword.Symmetric
            or SqlKeyword.SystemUser or SqlKeyword.Table or SqlKeyword.Then or SqlKeyword.To or SqlKeyword.Trailing
            or SqlKeyword.True or SqlKeyword.Union or SqlKeyword.Unique or SqlKeyword.User or SqlKeyword.Using
            or SqlKeyword.Values or SqlKeyword.Variadic or SqlKeyword.When or SqlKeyword.Where or SqlKeyword.Window
            or SqlKeyword.With => true,
        _ => false,
    };

    /// <summary>The key words <see cref="AcceptKeyword"/> acts on, by value: most words are none of them.</summary>
    private static readonly bool[] ClauseKeywords = KeywordSet(
        SqlKeyword.Insert, SqlKeyword.Update, SqlKeyword.Delete, SqlKeyword.Merge, SqlKeyword.Select, SqlKeyword.Values,
        SqlKeyword.Table, SqlKeyword.Into, SqlKeyword.With, SqlKeyword.By, SqlKeyword.For, SqlKeyword.Having, SqlKeyword.Window,
        SqlKeyword.Order, SqlKeyword.Limit, SqlKeyword.Offset, SqlKeyword.Fetch, SqlKeyword.Union, SqlKeyword.Intersect,
        SqlKeyword.Except);

    private static bool[] KeywordSet(params SqlKeyword[] keywords)
    {
        var set = new bool[256];
        foreach (var keyword in keywords)
        {
            set[(int)keyword] = true;
        }

        return set;
    }

    private void Write(string reason) => WriteReason ??= reason;

    /// <summary>A key word in <see cref="ClauseKeywords"/>; any other changes nothing here.</summary>
    private void AcceptKeyword(SqlKeyword keyword, int level, in SqlLexer lexer)
    {
        // After ".", "::" or AS a key word is a column, type or label (t.update, AS delete), never a clause.
        if (_prev.Kind is SqlTokenKind.Dot or SqlTokenKind.Cast || _prev.Is(SqlKeyword.As))
        {
            return;
        }

        var inLevel = level <= MaxLevel;
        switch (keyword)
        {
            case SqlKeyword.Insert or SqlKeyword.Update or SqlKeyword.Delete or SqlKeyword.Merge:
                Write(level > 0 ? ClassificationReasons.DataModifyingCte : ClassificationReasons.ForKeyword(keyword));
                EndCteList(level);
                break;
            case SqlKeyword.Select or SqlKeyword.Values or SqlKeyword.Table:
                EndCteList(level);
                break;
            case SqlKeyword.Into:
                Write(ClassificationReasons.SelectInto);
                break;
            case SqlKeyword.With:
                // Only a WITH that starts a query opens a CTE list (not WITH ORDINALITY, WITH TIME ZONE, WITH TIES).
                if (inLevel && _prev.Kind is SqlTokenKind.None or SqlTokenKind.LeftParen)
                {
                    _cteLists = With(_cteLists, level, true);
                }

                break;
            case SqlKeyword.By:
                if (inLevel && _prev.Is(SqlKeyword.Group))
                {
                    _groupBy = With(_groupBy, level, true);
                }

                break;
            case SqlKeyword.For:
                CheckLockingClause(lexer);
                EndGroupBy(level);
                break;
            case SqlKeyword.Having or SqlKeyword.Window or SqlKeyword.Order or SqlKeyword.Limit or SqlKeyword.Offset
                or SqlKeyword.Fetch or SqlKeyword.Union or SqlKeyword.Intersect or SqlKeyword.Except:
                EndGroupBy(level);
                break;
        }
    }

    /// <summary>The main query of a WITH list has started: commas at this level no longer separate CTEs.</summary>
    private void EndCteList(int level)
    {
        if (level <= MaxLevel)
        {
            _cteLists = With(_cteLists, level, false);
        }
    }

    private void EndGroupBy(int level)
    {
        if (level <= MaxLevel)
        {
            _groupBy = With(_groupBy, level, false);
        }
    }

    private void CheckLockingClause(in SqlLexer lexer)
    {
        var peek = lexer;
        if (!peek.Next(out var first))
        {
            return;
        }

        if (first.Is(SqlKeyword.Update))
        {
            Write(ClassificationReasons.ForUpdate);
        }
        else if (first.Is(SqlKeyword.Share))
        {
            Write(ClassificationReasons.ForShare);
        }
        else if (first.Is(SqlKeyword.No) || first.Is(SqlKeyword.Key))
        {
            if (!peek.Next(out var second))
            {
                return;
            }

            if (first.Is(SqlKeyword.Key) && second.Is(SqlKeyword.Share))
            {
                Write(ClassificationReasons.ForKeyShare);
            }
            else if (first.Is(SqlKeyword.No) && second.Is(SqlKeyword.Key) && peek.Next(out var third) && third.Is(SqlKeyword.Update))
            {
                Write(ClassificationReasons.ForNoKeyUpdate);
            }
        }
    }

    private void TrackName(in SqlToken token)
    {
        if (_prev.Kind == SqlTokenKind.Dot && _nameParts > 0)
        {
            _nameQualifier = _nameLast;
            _nameLast = token;
            _nameParts++;
            return;
        }

        _nameParts = 1;
        _nameLast = token;
        _nameQualifier = default;
        _context = _prev;
        _context2 = _prev2;
        _contextIsOperatorParen = _prev.Kind == SqlTokenKind.RightParen && _lastCloseWasOperatorParen;
    }

    private void OpenParen(int level)
    {
        if (_nameParts > 0 && _prev.IsName && SessionReason is null && IsFunctionCall(level))
        {
            CheckFunction();
        }

        if (level >= MaxLevel)
        {
            Write(ClassificationReasons.NestingTooDeep);
            return;
        }

        // A "(" right after a CTE body starts a parenthesised main query.
        if (_prev.Kind == SqlTokenKind.RightParen)
        {
            _cteLists = With(_cteLists, level, false);
        }

        var inner = level + 1;
        _cteLists = With(_cteLists, inner, false);
        _groupBy = With(_groupBy, inner, false);
        _operatorParens = With(_operatorParens, inner, _prev.Is(SqlKeyword.Operator));
    }

    /// <summary>Whether "name(" is a call rather than syntax (a type modifier, a CTE or alias column list, …).</summary>
    private readonly bool IsFunctionCall(int level)
    {
        var inLevel = level <= MaxLevel;
        var context = _context;
        if (_nameParts == 1 && _nameLast.Kind == SqlTokenKind.Identifier)
        {
            var keyword = _nameLast.Keyword;
            if (IsNeverFunction(keyword))
            {
                return false;
            }

            // Unreserved key words are syntax only where the grammar puts them; elsewhere they may name a function.
            switch (keyword)
            {
                case SqlKeyword.Cube or SqlKeyword.Rollup:
                    if (inLevel && Bit(_groupBy, level)
                        && (context.Kind == SqlTokenKind.Comma || context.Is(SqlKeyword.By) || context.Is(SqlKeyword.Distinct) || context.Is(SqlKeyword.All)))
                    {
                        return false;
                    }

                    break;
                case SqlKeyword.Sets when context.Is(SqlKeyword.Grouping):
                case SqlKeyword.Materialized when inLevel && Bit(_cteLists, level):
                case SqlKeyword.Varying when context.Is(SqlKeyword.Character) || context.Is(SqlKeyword.Char) || context.Is(SqlKeyword.Bit) || context.Is(SqlKeyword.Nchar):
                case SqlKeyword.Zone when context.Is(SqlKeyword.Time):
                case SqlKeyword.First or SqlKeyword.Next when context.Is(SqlKeyword.Fetch):
                case SqlKeyword.By when context.Is(SqlKeyword.Group) || context.Is(SqlKeyword.Order) || context.Is(SqlKeyword.Partition):
                case SqlKeyword.Columns when context.Kind == SqlTokenKind.String:
                    return false;
                case SqlKeyword.Like or SqlKeyword.Ilike or SqlKeyword.Similar or SqlKeyword.Is or SqlKeyword.Join:
                    // An infix key word after an operand: x LIKE (…), x NOT LIKE (…), t JOIN (…), LEFT JOIN (…).
                    if (EndsExpression(context) || (context.Is(SqlKeyword.Not) && EndsExpression(_context2)))
                    {
                        return false;
                    }

                    if (keyword == SqlKeyword.Join && context.Keyword is SqlKeyword.Left or SqlKeyword.Right or SqlKeyword.Full
                        or SqlKeyword.Inner or SqlKeyword.Outer or SqlKeyword.Cross or SqlKeyword.Natural)
                    {
                        return false;
                    }

                    break;
            }
        }

        switch (context.Kind)
        {
            case SqlTokenKind.Cast:
                // ::numeric(10,2), ::pg_catalog.varchar(20): a type modifier.
                return false;
            case SqlTokenKind.RightParen:
                // f() t(a, b), (VALUES …) v(a), agg(x) FILTER (…), OVER (…): an alias column list or a clause.
                // After OPERATOR(…) though, an operand starts.
                return _contextIsOperatorParen;
            case SqlTokenKind.QuotedIdentifier or SqlTokenKind.String:
                // "table" t(a): an alias list; '…' COLUMNS (…) in JSON_TABLE. An operand never follows these directly.
                return false;
            case SqlTokenKind.Comma:
                // WITH a AS (…), b(x) AS (…): a CTE column list.
                return !(inLevel && Bit(_cteLists, level));
            case SqlTokenKind.Identifier:
                // AS x(a, b) alias list or CAST(… AS numeric(10,2)); WITH [RECURSIVE] c(a) CTE list; TABLESAMPLE method;
                // WITH ORDINALITY t(a, n) alias list.
                return context.Keyword is not (SqlKeyword.As or SqlKeyword.With or SqlKeyword.Recursive
                    or SqlKeyword.Tablesample or SqlKeyword.Ordinality);
            default:
                return true;
        }
    }

    private void CheckFunction()
    {
        if (_nameParts > 3)
        {
            Write(ClassificationReasons.UnknownFunction);
            return;
        }

        Span<char> nameBuffer = stackalloc char[MaxNameLength];
        if (!TryResolve(_nameLast, nameBuffer, out var name))
        {
            Write(ClassificationReasons.UnknownFunction);
            return;
        }

        // catalog.schema.function: the schema is the part before the function either way.
        scoped ReadOnlySpan<char> schema = default;
        if (_nameParts > 1 && !TryResolve(_nameQualifier, stackalloc char[MaxNameLength], out schema))
        {
            Write(ClassificationReasons.UnknownFunction);
            return;
        }

        var kind = _catalog.Classify(name, schema, nameQuoted: true, schemaQuoted: true);
        switch (kind)
        {
            case FunctionClass.ReadOnly:
                return;
            case FunctionClass.SessionState:
                SessionReason = Describe("function ", schema, name);
                return;
            case FunctionClass.Writing:
                if (WriteReason is null)
                {
                    WriteReason = Describe("function ", schema, name);
                }

                return;
            default:
                if (WriteReason is null)
                {
                    WriteReason = Describe("unknown function ", schema, name);
                }

                return;
        }
    }

    private static string Describe(string prefix, ReadOnlySpan<char> schema, ReadOnlySpan<char> name) =>
        schema.IsEmpty ? string.Concat(prefix, name) : string.Concat(prefix, schema, ".", name);

    /// <summary>
    /// The name a part stands for, as PostgreSQL stores it: unquoted parts folded to lower case, quoted parts with ""
    /// unescaped. False for U&amp;"…" (escapes not decoded) and over-long names, which are then unknown.
    /// </summary>
    private readonly bool TryResolve(SqlToken part, Span<char> buffer, out ReadOnlySpan<char> name)
    {
        var text = part.Text(_sql);
        if (part.Kind == SqlTokenKind.Identifier)
        {
            if (text.Length > buffer.Length)
            {
                name = default;
                return false;
            }

            name = FunctionCatalog.FoldCase(text, buffer);
            return true;
        }

        if ((part.Flags & SqlTokenFlags.Unicode) != 0 || text.Length - 2 > buffer.Length)
        {
            name = default;
            return false;
        }

        text = text[1..^1];
        if ((part.Flags & SqlTokenFlags.DoubledQuotes) == 0)
        {
            name = text;
            return true;
        }

        var length = 0;
        for (var i = 0; i < text.Length; i++)
        {
            buffer[length++] = text[i];
            if (text[i] == '"')
            {
                i++;
            }
        }

        name = buffer[..length];
        return true;
    }

    /// <summary>The kind and key word of a token in one int, cheap to keep and copy.</summary>
    private readonly struct Tag
    {
        private readonly int _value;

        public Tag(SqlTokenKind kind, SqlKeyword keyword) => _value = (int)kind | ((int)keyword << 8);

        public SqlTokenKind Kind => (SqlTokenKind)(byte)_value;

        public SqlKeyword Keyword => (SqlKeyword)(byte)(_value >> 8);

        public bool Is(SqlKeyword keyword) => Keyword == keyword && keyword != SqlKeyword.None;

        public bool IsName => Kind is SqlTokenKind.Identifier or SqlTokenKind.QuotedIdentifier;
    }
}
