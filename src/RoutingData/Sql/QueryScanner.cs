using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RoutingData.Sql;

/// <summary>
/// Looks through the tokens of a query (SELECT, VALUES, TABLE, WITH, SHOW, a parenthesised query, or the query of
/// COPY/EXPLAIN) at every depth for anything that makes it not read-only: a data-modifying statement, SELECT INTO, a
/// locking clause, or a call of a function that is not known to be read-only. It errs towards "not read-only": a name
/// followed by "(" is a function call unless the grammar says it cannot be.
/// </summary>
/// <remarks>
/// Taking a token costs one store: its position and kind go into a ring of the last <see cref="RingSize"/> tokens.
/// Only at the few tokens that decide something (a "(", a clause key word) does the scanner look back through the
/// ring for what it needs: the key words of the tokens before, and the dotted name before a "(". A caller may write
/// the ring itself and leave those tokens as events (<see cref="Events"/>) for <see cref="ProcessEvents"/>.
/// </remarks>
internal ref struct QueryScanner
{
    /// <summary>Tokens remembered for looking back: a power of two, at least twice <see cref="MaxEvents"/>.</summary>
    internal const int RingSize = 128;

    /// <summary>Events that a caller may leave pending (see <see cref="Events"/>): as many as tokens in 64 characters.</summary>
    internal const int MaxEvents = 64;

    /// <summary>Paren levels tracked in the 64-bit masks below; deeper queries go to the primary.</summary>
    internal const int MaxLevel = 62;

    private const int MaxNameLength = 128;

    // A ring entry: start (bits 0-31), length (32-55, capped), kind (56-59), flags (60-63).
    private const int LengthShift = 32;
    private const int KindShift = 56;
    private const int FlagsShift = 60;
    private const uint MaxEntryLength = 0xFF_FFFF;

    /// <summary>Flag of a ")" entry: it closed the parens of OPERATOR(…), so an operand follows.</summary>
    private const ulong ClosesOperatorParen = 1UL << 62;

    /// <summary>The kind bits of an unquoted identifier's entry.</summary>
    internal const ulong IdentifierEntry = (ulong)SqlTokenKind.Identifier << KindShift;

    private readonly ReadOnlySpan<char> _sql;
    private readonly FunctionCatalog _catalog;
    private TokenRing _ring;
    private EventBuffer _events;

    // Tokens taken so far; the last is at ring index (_count - 1) % RingSize.
    private int _count;

    // Bit n is for paren level n: inside a WITH list before its main query; inside GROUP BY; the parens of OPERATOR(…).
    private ulong _cteLists;
    private ulong _groupBy;
    private ulong _operatorParens;

    // A "." whose next token was not taken yet when the "." was (see AcceptDot), or -1.
    private int _pendingDot = -1;

    // The token index of the last INSERT or MERGE that starts a statement (not a label: AS insert, t.merge), or -1.
    private int _insertOrMerge = -1;

    public QueryScanner(ReadOnlySpan<char> sql, FunctionCatalog catalog)
    {
        _sql = sql;
        _catalog = catalog;
    }

    /// <summary>The first reason the query must run on the primary, or null.</summary>
    public string? WriteReason { get; private set; }

    /// <summary>The first reason the query leaves session state behind (and so pins), or null.</summary>
    public string? SessionReason { get; private set; }

    /// <summary>Whether the query has an INTO that is not INSERT INTO or MERGE INTO: SELECT … INTO makes a table.</summary>
    public bool SelectInto { get; private set; }

    /// <summary>
    /// Whether the query calls a function that the planner may run (an IMMUTABLE or STABLE one, or one not known) and that
    /// is not known to be read-only: then even planning it (EXPLAIN) may be refused by a standby.
    /// </summary>
    public bool MayRunWhenPlanned { get; private set; }

    /// <summary>Check every call, also after one that pins: for EXPLAIN, which needs <see cref="MayRunWhenPlanned"/> of all of them.</summary>
    public bool CheckEveryCall { get; set; }

    /// <summary>Tokens taken so far. A caller that writes entries into <see cref="Ring"/> itself keeps this up to date.</summary>
    internal int Count
    {
        readonly get => _count;
        set => _count = value;
    }

    /// <summary>The first ring entry: token n goes at n % <see cref="RingSize"/>.</summary>
    [UnscopedRef]
    internal ref ulong Ring => ref _ring[0];

    /// <summary>
    /// The first of <see cref="MaxEvents"/> places for events (see <see cref="Event"/>) that a caller who writes the
    /// ring itself leaves for <see cref="ProcessEvents"/>, in order: every "(", every ")" that may close OPERATOR(…)
    /// (see <see cref="OperatorParens"/>), every ".", and the words that <see cref="MayBeClauseKeyword"/> and
    /// <see cref="MayEndClauseKeyword"/> let through.
    /// </summary>
    [UnscopedRef]
    internal ref ulong Events => ref _events[0];

    /// <summary>
    /// Bit n is set when the "(" last opened at level n - 1 followed OPERATOR; only then does the ")" that closes it
    /// matter (see <see cref="CloseParen"/>).
    /// </summary>
    internal readonly ulong OperatorParens => _operatorParens;

    /// <summary>Whether the token of <paramref name="entry"/> may be OPERATOR: an unquoted word of its length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool MayBeOperatorKeyword(ulong entry) =>
        (entry & (0xFUL << KindShift | (ulong)MaxEntryLength << LengthShift)) == (IdentifierEntry | (ulong)OperatorLength << LengthShift);

    private static readonly int OperatorLength = SqlKeywords.LengthOf(SqlKeyword.Operator);

    /// <summary>An event for token <paramref name="index"/> at paren <paramref name="level"/> (for "(" and ")" the level outside them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Event(int index, int level) => (uint)index | ((ulong)(uint)level << 32);

    /// <summary>A ring entry for a word of <paramref name="length"/> (at most 64) characters at <paramref name="start"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong WordEntry(int start, int length) => (uint)start | ((ulong)(uint)length << LengthShift) | IdentifierEntry;

    /// <summary>A ring entry for a token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Entry(SqlTokenKind kind, int start, int length, SqlTokenFlags flags = SqlTokenFlags.None) =>
        (uint)start | ((ulong)Math.Min((uint)length, MaxEntryLength) << LengthShift) | ((ulong)kind << KindShift) | ((ulong)flags << FlagsShift);

    /// <summary>
    /// Whether an unquoted word of <paramref name="length"/> characters starting with <paramref name="first"/> may be one
    /// of the key words <see cref="AcceptKeyword"/> acts on: the first of two cheap filters, so that most words are never
    /// looked up. Lengths from 16 on share the slots of length % 16 (and so are let through more often than needed).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool MayBeClauseKeyword(char first, int length) =>
        ((Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Clauses.FirstLetters), length & 15) >> (first & 31)) & 1) != 0;

    /// <summary>
    /// The second filter, for a word that passed <see cref="MayBeClauseKeyword"/>: whether a clause key word of the
    /// length and first letter ends with <paramref name="last"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool MayEndClauseKeyword(char first, char last, int length) =>
        ((Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Clauses.LastLetters), ((length & 15) << 5) | (first & 31)) >> (last & 31)) & 1) != 0;

    /// <summary>
    /// Takes the next token. <paramref name="level"/> is the paren depth the token sits at (for "(" and ")" the level
    /// outside them).
    /// </summary>
    public void Accept(in SqlToken token, int level)
    {
        Push(Entry(token.Kind, token.Start, token.Length, token.Flags));
        var index = _count - 1;
        if (_pendingDot >= 0)
        {
            ResolvePendingDot();
        }

        switch (token.Kind)
        {
            case SqlTokenKind.Identifier when ClauseKeywords[(int)token.Keyword]:
                AcceptKeyword(token.Keyword, index, level);
                break;
            case SqlTokenKind.LeftParen:
                OpenParen(index, level);
                break;
            case SqlTokenKind.RightParen:
                CloseParen(index, level);
                break;
            case SqlTokenKind.Dot:
                AcceptDot(index);
                break;
        }
    }

    /// <summary>Acts on what is still pending once every token has been taken: call before reading the reasons.</summary>
    public void Complete()
    {
        if (_pendingDot >= 0)
        {
            ResolvePendingDot();
        }
    }

    /// <summary>
    /// Acts on the first <paramref name="count"/> events in <see cref="Events"/>, in order, as <see cref="Accept"/>
    /// would have when their tokens were taken. <see cref="Count"/> must be up to date, and no event more than
    /// <see cref="MaxEvents"/> tokens old, so that the <see cref="RingSize"/> - <see cref="MaxEvents"/> tokens before
    /// each are still in the ring.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void ProcessEvents(int count)
    {
        if (_pendingDot >= 0)
        {
            ResolvePendingDot();
        }

        for (var n = 0; n < count; n++)
        {
            var value = _events[n];
            var index = (int)(uint)value;
            var level = (int)(value >> 32);
            switch (KindOf(At(index)))
            {
                case SqlTokenKind.LeftParen:
                    OpenParen(index, level);
                    break;
                case SqlTokenKind.RightParen:
                    CloseParen(index, level);
                    break;
                case SqlTokenKind.Dot:
                    AcceptDot(index);
                    break;
                default:
                    AcceptClauseCandidate(index, level);
                    break;
            }
        }
    }

    /// <summary>For token <paramref name="index"/>, a word in the ring passed by <see cref="MayBeClauseKeyword"/>: acts on it if it is a clause key word.</summary>
    public void AcceptClauseCandidate(int index, int level)
    {
        var entry = At(index);
        var keyword = Clauses.Identify(_sql, StartOf(entry), LengthOf(entry));
        if (keyword != SqlKeyword.None)
        {
            AcceptKeyword(keyword, index, level);
        }
    }

    /// <summary>Takes ")" at <paramref name="start"/> and <paramref name="level"/> (the level outside it).</summary>
    public void AcceptRightParen(int start, int level)
    {
        Push(Entry(SqlTokenKind.RightParen, start, 1));
        CloseParen(_count - 1, level);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Push(ulong entry)
    {
        Unsafe.Add(ref _ring[0], _count & (RingSize - 1)) = entry;
        _count++;
    }

    /// <summary>Token <paramref name="index"/> (0 for before the first).</summary>
    private readonly ulong At(int index) => index < 0 ? 0 : _ring[index & (RingSize - 1)];

    /// <summary>Whether token <paramref name="index"/> has left the ring (been overwritten).</summary>
    private readonly bool Forgotten(int index) => index >= 0 && index < _count - RingSize;

    private static SqlTokenKind KindOf(ulong entry) => (SqlTokenKind)((entry >> KindShift) & 0xF);

    private static SqlTokenFlags FlagsOf(ulong entry) => (SqlTokenFlags)((entry >> FlagsShift) & 0x3);

    private static int StartOf(ulong entry) => (int)(uint)entry;

    private static int LengthOf(ulong entry) => (int)((entry >> LengthShift) & MaxEntryLength);

    private static bool IsName(ulong entry) => KindOf(entry) is SqlTokenKind.Identifier or SqlTokenKind.QuotedIdentifier;

    /// <summary>The key word an entry spells, or <see cref="SqlKeyword.None"/>.</summary>
    private readonly SqlKeyword KeywordOf(ulong entry) =>
        KindOf(entry) == SqlTokenKind.Identifier ? SqlKeywords.Identify(_sql, StartOf(entry), LengthOf(entry)) : SqlKeyword.None;

    /// <summary>Whether an entry spells <paramref name="keyword"/>: most words are ruled out by their length alone.</summary>
    private readonly bool Is(ulong entry, SqlKeyword keyword) =>
        KindOf(entry) == SqlTokenKind.Identifier && LengthOf(entry) == SqlKeywords.LengthOf(keyword) && KeywordOf(entry) == keyword;

    private static bool Bit(ulong mask, int level) => (mask & (1UL << level)) != 0;

    private static ulong With(ulong mask, int level, bool value) => value ? mask | (1UL << level) : mask & ~(1UL << level);

    private readonly bool EndsExpression(ulong entry) => KindOf(entry) switch
    {
        SqlTokenKind.QuotedIdentifier or SqlTokenKind.RightParen or SqlTokenKind.RightBracket or SqlTokenKind.String
            or SqlTokenKind.Number or SqlTokenKind.Parameter => true,
        SqlTokenKind.Identifier => KeywordOf(entry) is SqlKeyword.None or SqlKeyword.Null or SqlKeyword.True or SqlKeyword.False or SqlKeyword.End,
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

    private static readonly SqlKeyword[] ClauseKeywordList =
    [
        SqlKeyword.Insert, SqlKeyword.Update, SqlKeyword.Delete, SqlKeyword.Merge, SqlKeyword.Select, SqlKeyword.Values,
        SqlKeyword.Table, SqlKeyword.Into, SqlKeyword.With, SqlKeyword.By, SqlKeyword.For, SqlKeyword.Having, SqlKeyword.Window,
        SqlKeyword.Order, SqlKeyword.Limit, SqlKeyword.Offset, SqlKeyword.Fetch, SqlKeyword.Union, SqlKeyword.Intersect,
        SqlKeyword.Except,
    ];

    /// <summary>The key words <see cref="AcceptKeyword"/> acts on, by value: most words are none of them.</summary>
    private static readonly bool[] ClauseKeywords = KeywordSet(ClauseKeywordList);


    private static bool[] KeywordSet(SqlKeyword[] keywords)
    {
        var set = new bool[256];
        foreach (var keyword in keywords)
        {
            set[(int)keyword] = true;
        }

        return set;
    }


    private void Write(string reason) => WriteReason ??= reason;

    /// <summary>What the text cannot show (an unknown or user VOLATILE function, SELECT INTO) may write and may leave session state.</summary>
    private void Pin(string reason) => SessionReason ??= reason;

    /// <summary>A key word in <see cref="ClauseKeywords"/>, token <paramref name="index"/>; any other changes nothing here.</summary>
    private void AcceptKeyword(SqlKeyword keyword, int index, int level)
    {
        // After ".", "::" or AS a key word is a column, type or label (t.update, AS delete), never a clause.
        var prev = At(index - 1);
        var prevKind = KindOf(prev);
        if (prevKind is SqlTokenKind.Dot or SqlTokenKind.Cast || Is(prev, SqlKeyword.As))
        {
            return;
        }

        var inLevel = level <= MaxLevel;
        switch (keyword)
        {
            case SqlKeyword.Insert or SqlKeyword.Update or SqlKeyword.Delete or SqlKeyword.Merge:
                // A statement starts at the start, after "(", or after ")" that ends a CTE; elsewhere INSERT and MERGE are
                // labels (SELECT 1 insert INTO TEMP t), which still count as writes here, conservatively.
                if (keyword is SqlKeyword.Insert or SqlKeyword.Merge
                    && (prevKind is SqlTokenKind.None or SqlTokenKind.LeftParen || (prevKind == SqlTokenKind.RightParen && inLevel && Bit(_cteLists, level))))
                {
                    _insertOrMerge = index;
                }

                Write(level > 0 ? ClassificationReasons.DataModifyingCte : ClassificationReasons.ForKeyword(keyword));
                EndCteList(level);
                break;
            case SqlKeyword.Select or SqlKeyword.Values or SqlKeyword.Table:
                EndCteList(level);
                break;
            case SqlKeyword.Into:
                // INSERT INTO / MERGE INTO already write. SELECT INTO creates a table, a temp one (INTO TEMP) lives in the session;
                // so does SELECT 1 AS insert INTO TEMP t, where insert is a label.
                if (_insertOrMerge != index - 1)
                {
                    SelectInto = true;
                    Pin(ClassificationReasons.SelectInto);
                }

                break;
            case SqlKeyword.With:
                // Only a WITH that starts a query opens a CTE list (not WITH ORDINALITY, WITH TIME ZONE, WITH TIES).
                if (inLevel && prevKind is SqlTokenKind.None or SqlTokenKind.LeftParen)
                {
                    _cteLists = With(_cteLists, level, true);
                }

                break;
            case SqlKeyword.By:
                if (inLevel && Is(prev, SqlKeyword.Group))
                {
                    _groupBy = With(_groupBy, level, true);
                }

                break;
            case SqlKeyword.For:
                var entry = At(index);
                CheckLockingClause(StartOf(entry) + LengthOf(entry));
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

    /// <summary>FOR UPDATE and the like: the tokens from <paramref name="position"/> (after FOR).</summary>
    private void CheckLockingClause(int position)
    {
        var peek = new SqlLexer(_sql) { Position = position };
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

    /// <summary>
    /// ".", token <paramref name="index"/>: the name after it may call a function of the row before it (attribute
    /// notation: <c>t.f</c> and <c>(t).f</c> are <c>f(t)</c> when t has no column f). Checked as soon as that name is taken.
    /// </summary>
    private void AcceptDot(int index)
    {
        if (index + 1 < _count)
        {
            CheckAttribute(index + 1);
        }
        else
        {
            _pendingDot = index;
        }
    }

    private void ResolvePendingDot()
    {
        var dot = _pendingDot;
        if (dot + 1 < _count)
        {
            _pendingDot = -1;
            CheckAttribute(dot + 1);
        }
    }

    /// <summary>
    /// Token <paramref name="index"/> follows a ".": if it is a name the catalog knows as a function that is not
    /// read-only, and it is neither called ("(" follows, checked as a call) nor part of a relation or type name (after
    /// JOIN, INTO, ::, AS, …), it may be that function applied to the row: as much as a call. Names the catalog does
    /// not know are columns (a function made since the catalog was read shows up as an unknown call elsewhere).
    /// </summary>
    private void CheckAttribute(int index)
    {
        var entry = At(index);
        switch (KindOf(entry))
        {
            case SqlTokenKind.Identifier:
                // The common case: a column (unknown to the catalog), looked up without copying it.
                var text = _sql.Slice(StartOf(entry), LengthOf(entry));
                if (text.Length <= MaxNameLength && _catalog.MayBeNotReadOnly(text) && _catalog.ClassifyUnquoted(text) is var kind && IsAttributeCall(kind, entry, index))
                {
                    Report(kind, default, FunctionCatalog.FoldCase(text, stackalloc char[text.Length]));
                }

                break;
            case SqlTokenKind.QuotedIdentifier:
                Span<char> buffer = stackalloc char[MaxNameLength];
                if (TryResolve(entry, buffer, out var name) && _catalog.MayBeNotReadOnly(name) && _catalog.Classify(name, default, nameQuoted: true) is var quotedKind
                    && IsAttributeCall(quotedKind, entry, index))
                {
                    Report(quotedKind, default, name);
                }

                break;
        }
    }

    /// <summary>Whether the name of <paramref name="entry"/>, token <paramref name="index"/>, classified <paramref name="kind"/>, is a call that matters.</summary>
    private readonly bool IsAttributeCall(FunctionClass kind, ulong entry, int index) =>
        kind is not (FunctionClass.ReadOnly or FunctionClass.Unknown) && !IsCalled(entry) && !NamesRelationOrType(index);

    /// <summary>Whether "(" follows the token of <paramref name="entry"/>: then it is a call, checked as one.</summary>
    private readonly bool IsCalled(ulong entry)
    {
        var peek = new SqlLexer(_sql) { Position = StartOf(entry) + LengthOf(entry) };
        return peek.Next(out var next) && next.Kind == SqlTokenKind.LeftParen;
    }

    /// <summary>Whether the dotted name that ends with token <paramref name="index"/> follows a word that makes it a relation or type name.</summary>
    private readonly bool NamesRelationOrType(int index)
    {
        // What stands before the whole dotted name decides; (t).f has "." there, a forgotten start nothing: neither counts.
        // Not FROM: it also sits inside expressions (x IS DISTINCT FROM t.f, SUBSTRING(a FROM t.f), EXTRACT(… FROM t.f)).
        var context = FindName(index).Context;
        return KindOf(context) == SqlTokenKind.Cast
            || KeywordOf(context) is SqlKeyword.Join or SqlKeyword.Only or SqlKeyword.Table or SqlKeyword.Into or SqlKeyword.Update
                or SqlKeyword.Using or SqlKeyword.As;
    }

    /// <summary>")", token <paramref name="index"/>, at <paramref name="level"/> (the level outside it).</summary>
    private void CloseParen(int index, int level)
    {
        if (level < MaxLevel && Bit(_operatorParens, level + 1))
        {
            _ring[index & (RingSize - 1)] |= ClosesOperatorParen;
        }
    }

    /// <summary>"(", token <paramref name="index"/>, at <paramref name="level"/> (the level outside it).</summary>
    private void OpenParen(int index, int level)
    {
        var prev = At(index - 1);
        if (IsName(prev) && (SessionReason is null || CheckEveryCall) && !IsReadOnlyFunction(index - 1))
        {
            var name = FindName(index - 1);
            if (name.Forgotten || IsFunctionCall(level, name))
            {
                CheckFunction(name);
            }
        }

        if (level >= MaxLevel)
        {
            Write(ClassificationReasons.NestingTooDeep);
            return;
        }

        // A "(" right after a CTE body starts a parenthesised main query.
        if (KindOf(prev) == SqlTokenKind.RightParen)
        {
            _cteLists = With(_cteLists, level, false);
        }

        var inner = level + 1;
        _cteLists = With(_cteLists, inner, false);
        _groupBy = With(_groupBy, inner, false);
        _operatorParens = With(_operatorParens, inner, Is(prev, SqlKeyword.Operator));
    }

    /// <summary>
    /// Whether token <paramref name="index"/> is a one-part unquoted name that the catalog knows as read-only: then it
    /// does not matter whether "name(" is a call or syntax, and the grammar need not be asked.
    /// </summary>
    private readonly bool IsReadOnlyFunction(int index)
    {
        var entry = At(index);
        if (KindOf(entry) != SqlTokenKind.Identifier || KindOf(At(index - 1)) == SqlTokenKind.Dot || LengthOf(entry) > MaxNameLength)
        {
            return false;
        }

        return _catalog.ClassifyUnquoted(_sql.Slice(StartOf(entry), LengthOf(entry))) == FunctionClass.ReadOnly;
    }

    /// <summary>
    /// The dotted name that ends with token <paramref name="last"/> (a name): a.b.c, or a..b as PostgreSQL's lexer
    /// would give it. A part follows the one before across one or more dots; any other token starts a new name.
    /// </summary>
    private readonly DottedName FindName(int last)
    {
        var name = new DottedName { Parts = 1, Last = At(last) };
        var first = last;
        while (true)
        {
            var before = first - 1;
            while (!Forgotten(before) && KindOf(At(before)) == SqlTokenKind.Dot)
            {
                before--;
            }

            if (Forgotten(before))
            {
                name.Forgotten = true;
                return name;
            }

            if (before == first - 1 || !IsName(At(before)))
            {
                break;
            }

            if (name.Parts == 1)
            {
                name.Qualifier = At(before);
            }

            name.Parts++;
            first = before;
        }

        // Long chains of dots can run out of the ring: then what came before the name is not known.
        name.Forgotten = Forgotten(first - 2);
        name.Context = At(first - 1);
        name.Context2 = At(first - 2);
        return name;
    }

    /// <summary>Whether "name(" is a call rather than syntax (a type modifier, a CTE or alias column list, …).</summary>
    private readonly bool IsFunctionCall(int level, in DottedName name)
    {
        var inLevel = level <= MaxLevel;
        var context = name.Context;
        if (name.Parts == 1 && KindOf(name.Last) == SqlTokenKind.Identifier)
        {
            var keyword = KeywordOf(name.Last);
            if (IsNeverFunction(keyword))
            {
                return false;
            }

            // Unreserved key words are syntax only where the grammar puts them; elsewhere they may name a function.
            switch (keyword)
            {
                case SqlKeyword.Cube or SqlKeyword.Rollup:
                    if (inLevel && Bit(_groupBy, level)
                        && (KindOf(context) == SqlTokenKind.Comma || KeywordOf(context) is SqlKeyword.By or SqlKeyword.Distinct or SqlKeyword.All))
                    {
                        return false;
                    }

                    break;
                case SqlKeyword.Sets when Is(context, SqlKeyword.Grouping):
                case SqlKeyword.Materialized when inLevel && Bit(_cteLists, level):
                case SqlKeyword.Varying when KeywordOf(context) is SqlKeyword.Character or SqlKeyword.Char or SqlKeyword.Bit or SqlKeyword.Nchar:
                case SqlKeyword.Zone when Is(context, SqlKeyword.Time):
                case SqlKeyword.First or SqlKeyword.Next when Is(context, SqlKeyword.Fetch):
                case SqlKeyword.By when KeywordOf(context) is SqlKeyword.Group or SqlKeyword.Order or SqlKeyword.Partition:
                case SqlKeyword.Columns when KindOf(context) == SqlTokenKind.String:
                    return false;
                case SqlKeyword.Like or SqlKeyword.Ilike or SqlKeyword.Similar or SqlKeyword.Is or SqlKeyword.Join:
                    // An infix key word after an operand: x LIKE (…), x NOT LIKE (…), t JOIN (…), LEFT JOIN (…).
                    var contextKeyword = KeywordOf(context);
                    if (EndsExpression(context) || (contextKeyword == SqlKeyword.Not && EndsExpression(name.Context2)))
                    {
                        return false;
                    }

                    if (keyword == SqlKeyword.Join && contextKeyword is SqlKeyword.Left or SqlKeyword.Right or SqlKeyword.Full
                        or SqlKeyword.Inner or SqlKeyword.Outer or SqlKeyword.Cross or SqlKeyword.Natural)
                    {
                        return false;
                    }

                    break;
            }
        }

        switch (KindOf(context))
        {
            case SqlTokenKind.Cast:
                // ::numeric(10,2), ::pg_catalog.varchar(20): a type modifier.
                return false;
            case SqlTokenKind.RightParen:
                // f() t(a, b), (VALUES …) v(a), agg(x) FILTER (…), OVER (…): an alias column list or a clause.
                // After OPERATOR(…) though, an operand starts.
                return (context & ClosesOperatorParen) != 0;
            case SqlTokenKind.QuotedIdentifier or SqlTokenKind.String:
                // "table" t(a): an alias list; '…' COLUMNS (…) in JSON_TABLE. An operand never follows these directly.
                return false;
            case SqlTokenKind.Comma:
                // WITH a AS (…), b(x) AS (…): a CTE column list.
                return !(inLevel && Bit(_cteLists, level));
            case SqlTokenKind.Identifier:
                // AS x(a, b) alias list or CAST(… AS numeric(10,2)); WITH [RECURSIVE] c(a) CTE list; TABLESAMPLE method;
                // WITH ORDINALITY t(a, n) alias list.
                return KeywordOf(context) is not (SqlKeyword.As or SqlKeyword.With or SqlKeyword.Recursive
                    or SqlKeyword.Tablesample or SqlKeyword.Ordinality);
            default:
                return true;
        }
    }

    private void CheckFunction(in DottedName name)
    {
        if (name.Parts > 3 || name.Forgotten)
        {
            PinUnknown();
            return;
        }

        FunctionClass kind;
        if (name.Parts == 1 && KindOf(name.Last) == SqlTokenKind.Identifier)
        {
            // The common case: an unquoted name, looked up folded without copying it.
            var text = _sql.Slice(StartOf(name.Last), LengthOf(name.Last));
            if (text.Length > MaxNameLength)
            {
                PinUnknown();
                return;
            }

            kind = _catalog.ClassifyUnquoted(text);
            if (kind != FunctionClass.ReadOnly)
            {
                Report(kind, default, FunctionCatalog.FoldCase(text, stackalloc char[text.Length]));
            }

            return;
        }

        Span<char> nameBuffer = stackalloc char[MaxNameLength];
        if (!TryResolve(name.Last, nameBuffer, out var resolved))
        {
            PinUnknown();
            return;
        }

        // catalog.schema.function: the schema is the part before the function either way.
        scoped ReadOnlySpan<char> schema = default;
        if (name.Parts > 1 && !TryResolve(name.Qualifier, stackalloc char[MaxNameLength], out schema))
        {
            PinUnknown();
            return;
        }

        kind = _catalog.Classify(resolved, schema, nameQuoted: true, schemaQuoted: true);
        if (kind != FunctionClass.ReadOnly)
        {
            Report(kind, schema, resolved);
        }
    }

    /// <summary>A call of a function whose name cannot be resolved: unknown.</summary>
    private void PinUnknown()
    {
        MayRunWhenPlanned = true;
        Pin(ClassificationReasons.UnknownFunction);
    }

    private void Report(FunctionClass kind, scoped ReadOnlySpan<char> schema, scoped ReadOnlySpan<char> name)
    {
        if (!MayRunWhenPlanned && _catalog.MayRunWhenPlanned(kind, name))
        {
            MayRunWhenPlanned = true;
        }

        switch (kind)
        {
            case FunctionClass.SessionState:
                SessionReason = Describe("function ", schema, name);
                return;
            case FunctionClass.Writing:
                if (WriteReason is null)
                {
                    WriteReason = Describe("function ", schema, name);
                }

                return;
            case FunctionClass.Volatile:
                SessionReason ??= Describe("volatile function ", schema, name);
                return;
            default:
                SessionReason ??= Describe("unknown function ", schema, name);
                return;
        }
    }

    private static string Describe(string prefix, ReadOnlySpan<char> schema, ReadOnlySpan<char> name) =>
        schema.IsEmpty ? string.Concat(prefix, name) : string.Concat(prefix, schema, ".", name);

    /// <summary>
    /// The name a part stands for, as PostgreSQL stores it: unquoted parts folded to lower case, quoted parts with ""
    /// unescaped. False for U&amp;"…" (escapes not decoded) and over-long names, which are then unknown.
    /// </summary>
    private readonly bool TryResolve(ulong part, Span<char> buffer, out ReadOnlySpan<char> name)
    {
        var text = _sql.Slice(StartOf(part), LengthOf(part));
        if (KindOf(part) == SqlTokenKind.Identifier)
        {
            if (text.Length > buffer.Length)
            {
                name = default;
                return false;
            }

            name = FunctionCatalog.FoldCase(text, buffer);
            return true;
        }

        var flags = FlagsOf(part);
        if ((flags & SqlTokenFlags.Unicode) != 0 || text.Length - 2 > buffer.Length)
        {
            name = default;
            return false;
        }

        text = text[1..^1];
        if ((flags & SqlTokenFlags.DoubledQuotes) == 0)
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

    /// <summary>A dotted name before "(": its part count, last part, the part before that, and the two tokens before it.</summary>
    private struct DottedName
    {
        public int Parts;
        public ulong Last;
        public ulong Qualifier;
        public ulong Context;
        public ulong Context2;

        /// <summary>The name began too long ago for the ring to tell what came before it.</summary>
        public bool Forgotten;
    }

    /// <summary>
    /// The clause key words by length (0-15) and first letter (c &amp; 31), which no two of them share: a candidate word
    /// is checked against the one key word it may be, with no hashing.
    /// </summary>
    private static class Clauses
    {
        /// <summary>By length: bit (c &amp; 31) set when a clause key word of that length starts with c.</summary>
        public static readonly uint[] FirstLetters = new uint[16];

        /// <summary>By slot ((length &lt;&lt; 5) | (first &amp; 31)): bit (c &amp; 31) set when a clause key word there ends with c.</summary>
        public static readonly uint[] LastLetters = new uint[16 * 32];

        private static readonly SqlKeyword[] Keywords = new SqlKeyword[16 * 32];

        // The key word of each slot as SqlKeywords.IdentifyShort takes it (for those of up to eight letters).
        private static readonly Vector128<ushort>[] Folded = new Vector128<ushort>[16 * 32];

        static Clauses()
        {
            foreach (var keyword in ClauseKeywordList)
            {
                var text = SqlKeywords.TextOf(keyword);
                var slot = (text.Length << 5) | (text[0] & 31);
                if (Keywords[slot] != SqlKeyword.None)
                {
                    throw new InvalidOperationException($"Clause key words '{text}' and '{SqlKeywords.TextOf(Keywords[slot])}' share a slot.");
                }

                Keywords[slot] = keyword;
                FirstLetters[text.Length] |= 1u << (text[0] & 31);
                LastLetters[slot] |= 1u << (text[^1] & 31);
                if (text.Length <= Vector128<ushort>.Count)
                {
                    Folded[slot] = FoldedWord(text, text.Length);
                }
            }
        }

        /// <summary>The clause key word that the word of <paramref name="length"/> characters at <paramref name="start"/> spells, or none.</summary>
        public static SqlKeyword Identify(ReadOnlySpan<char> text, int start, int length)
        {
            var slot = (length << 5) | (text[start] & 31);
            if ((uint)length >= 16 || Keywords[slot] is not (var keyword and not SqlKeyword.None))
            {
                return SqlKeyword.None;
            }

            if (length <= Vector128<ushort>.Count && start <= text.Length - Vector128<ushort>.Count)
            {
                // Folded as in SqlKeywords.IdentifyShort: equal vectors are equal words ignoring ASCII case.
                return FoldedWord(text[start..], length) == Folded[slot] ? keyword : SqlKeyword.None;
            }

            return SqlKeywords.Is(text.Slice(start, length), SqlKeywords.TextOf(keyword)) ? keyword : SqlKeyword.None;
        }

        /// <summary>The first <paramref name="length"/> (at most eight) characters of <paramref name="text"/> OR 0x20, the rest zero.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<ushort> FoldedWord(ReadOnlySpan<char> text, int length)
        {
            if (text.Length < Vector128<ushort>.Count)
            {
                return FoldedShortText(text, length);
            }

            var chars = Vector128.LoadUnsafe(ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text)));
            var inWord = Vector128.LessThan(Vector128.Create((ushort)0, 1, 2, 3, 4, 5, 6, 7), Vector128.Create((ushort)length));
            return (chars | Vector128.Create((ushort)0x20)) & inWord;
        }

        private static Vector128<ushort> FoldedShortText(ReadOnlySpan<char> text, int length)
        {
            Span<char> padded = stackalloc char[Vector128<ushort>.Count];
            padded.Clear();
            text.CopyTo(padded);
            return FoldedWord(padded, length);
        }
    }

    [InlineArray(RingSize)]
    private struct TokenRing
    {
        private ulong _element;
    }

    [InlineArray(MaxEvents)]
    private struct EventBuffer
    {
        private ulong _element;
    }
}
