using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RoutingData.Sql;

/// <summary>
/// A PostgreSQL lexer over a span: positions only, no allocation per token. It skips whitespace and comments
/// (scanning comments for routing hints) and stops at the first unterminated string, identifier or comment.
/// Assumes standard_conforming_strings = on (the default since PostgreSQL 9.1), so '\' is ordinary in '…'.
/// </summary>
internal ref struct SqlLexer
{
    private readonly ReadOnlySpan<char> _text;
    private int _position;

    public SqlLexer(ReadOnlySpan<char> text)
    {
        _text = text;
        _position = 0;
        Hint = null;
        Error = null;
    }

    /// <summary>The first routing hint seen in a comment so far.</summary>
    public ReadPreference? Hint { get; private set; }

    /// <summary>Why lexing stopped early ("unterminated …"), or null.</summary>
    public string? Error { get; private set; }

    /// <summary>Where the next token is looked for; set by a caller that lexed simple tokens itself (see <see cref="QueryScanner"/>).</summary>
    internal int Position
    {
        readonly get => _position;
        set => _position = value;
    }

    // Character classes of ASCII characters; everything from U+0080 up is an identifier character, as in PostgreSQL.
    internal const byte Other = 0;
    internal const byte Space = 1;
    internal const byte Letter = 2;
    internal const byte Digit = 3;
    internal const byte Op = 4;
    internal const byte Minus = 5;
    internal const byte Slash = 6;
    internal const byte Quote = 7;
    internal const byte DoubleQuote = 8;
    internal const byte Dollar = 9;
    internal const byte Colon = 10;
    internal const byte Period = 11;
    internal const byte LeftParen = 12;
    internal const byte RightParen = 13;
    internal const byte LeftBracket = 14;
    internal const byte RightBracket = 15;
    internal const byte Comma = 16;
    internal const byte Semicolon = 17;

    // Vectorised skipping of the long runs of whitespace (indentation); see ScanWord and Masks for identifiers.
    private static readonly SearchValues<char> Whitespace = SearchValues.Create(" \t\n\r\f\v");

    /// <summary>The character class of <paramref name="c"/>: one of the constants above.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte ClassOf(char c) => c < 128 ? Classes[c] : Letter;

    private static ReadOnlySpan<byte> Classes =>
    [
        // 0x00-0x1F: \t \n \v \f \r are spaces.
        0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        // space ! " # $ % & ' ( ) * + , - . / 0-9 : ; < = > ?
        1, 4, 8, 4, 9, 4, 4, 7, 12, 13, 4, 4, 16, 5, 11, 6, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 10, 17, 4, 4, 4, 4,
        // @ A-Z [ \ ] ^ _
        4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 14, 0, 15, 4, 2,
        // ` a-z { | } ~ DEL
        4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 4, 0, 4, 0,
    ];

    /// <summary>Reads the next token; false at the end of the text or at an error (see <see cref="Error"/>).</summary>
    public bool Next(out SqlToken token)
    {
        var text = _text;
        var i = _position;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == ' ')
            {
                i++;
                if (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\r')
                {
                    var run = text[i..].IndexOfAnyExcept(Whitespace);
                    i = run < 0 ? text.Length : i + run;
                }

                continue;
            }

            var kind = c < 128 ? Classes[c] : Letter;
            if (kind == Letter)
            {
                return Word(i, out token);
            }

            switch (kind)
            {
                case Space:
                    i++;
                    if (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\r')
                    {
                        var run = text[i..].IndexOfAnyExcept(Whitespace);
                        i = run < 0 ? text.Length : i + run;
                    }

                    continue;
                case Letter:
                    return Word(i, out token);
                case Digit:
                    return Number(i, out token);
                case Comma:
                    return Single(SqlTokenKind.Comma, i, out token);
                case Period:
                    if (i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]))
                    {
                        return Number(i, out token);
                    }

                    return Single(SqlTokenKind.Dot, i, out token);
                case LeftParen:
                    return Single(SqlTokenKind.LeftParen, i, out token);
                case RightParen:
                    return Single(SqlTokenKind.RightParen, i, out token);
                case Quote:
                    return QuotedString(i, i, backslashEscapes: false, out token);
                case DoubleQuote:
                    return QuotedIdentifier(i, i, SqlTokenFlags.None, out token);
                case Minus:
                    if (i + 1 < text.Length && text[i + 1] == '-')
                    {
                        i = SkipLineComment(i);
                        continue;
                    }

                    return Operator(i, out token);
                case Slash:
                    if (i + 1 < text.Length && text[i + 1] == '*')
                    {
                        i = SkipBlockComment(i);
                        if (i < 0)
                        {
                            return Fail("unterminated block comment", out token);
                        }

                        continue;
                    }

                    return Operator(i, out token);
                case Op:
                    return Operator(i, out token);
                case Colon:
                    if (i + 1 < text.Length && text[i + 1] == ':')
                    {
                        return Emit(SqlTokenKind.Cast, i, 2, out token);
                    }

                    return Single(SqlTokenKind.Operator, i, out token);
                case Dollar:
                    return DollarToken(i, out token);
                case LeftBracket:
                    return Single(SqlTokenKind.LeftBracket, i, out token);
                case RightBracket:
                    return Single(SqlTokenKind.RightBracket, i, out token);
                case Semicolon:
                    return Single(SqlTokenKind.Semicolon, i, out token);
                default:
                    // Anything else ('\\', '{', control characters) is not valid SQL on its own; pass it through.
                    return Single(SqlTokenKind.Operator, i, out token);
            }
        }

        _position = text.Length;
        token = default;
        return false;
    }

    private static bool IsIdentifierStart(char c) => c < 128 ? Classes[c] == Letter : true;

    internal static bool IsIdentifierPart(char c) => c < 128 ? Classes[c] is Letter or Digit || c == '$' : true;

    internal static bool IsOperatorChar(char c) => c < 128 && Classes[c] is Op or Minus or Slash;

    private bool Single(SqlTokenKind kind, int start, out SqlToken token) => Emit(kind, start, 1, out token);

    private bool Emit(SqlTokenKind kind, int start, int length, out SqlToken token, SqlKeyword keyword = SqlKeyword.None, SqlTokenFlags flags = SqlTokenFlags.None)
    {
        token = new SqlToken(kind, start, length, keyword, flags);
        _position = start + length;
        return true;
    }

    private bool Fail(string error, out SqlToken token)
    {
        Error = error;
        _position = _text.Length;
        token = default;
        return false;
    }

    private int SkipLineComment(int start)
    {
        var rest = _text[(start + 2)..];
        var end = rest.IndexOfAny('\n', '\r');
        var body = end < 0 ? rest : rest[..end];
        ScanForHint(body);
        return end < 0 ? _text.Length : start + 2 + end;
    }

    /// <summary>Skips a block comment, nesting as PostgreSQL does; -1 when it is never closed.</summary>
    private int SkipBlockComment(int start)
    {
        var text = _text;
        var depth = 1;
        var i = start + 2;
        while (i < text.Length)
        {
            var next = text[(i)..].IndexOfAny('*', '/');
            if (next < 0)
            {
                break;
            }

            i += next;
            if (i + 1 >= text.Length)
            {
                break;
            }

            if (text[i] == '/' && text[i + 1] == '*')
            {
                depth++;
                i += 2;
            }
            else if (text[i] == '*' && text[i + 1] == '/')
            {
                i += 2;
                if (--depth == 0)
                {
                    ScanForHint(text[(start + 2)..(i - 2)]);
                    return i;
                }
            }
            else
            {
                i++;
            }
        }

        return -1;
    }

    private void ScanForHint(ReadOnlySpan<char> comment)
    {
        if (Hint is null && RoutingHints.TryFind(comment, out var hint))
        {
            Hint = hint;
        }
    }

    /// <summary>A '…' string from <paramref name="quote"/>; <paramref name="start"/> includes any prefix (E, B, X, N, U&amp;).</summary>
    private bool QuotedString(int start, int quote, bool backslashEscapes, out SqlToken token)
    {
        var text = _text;
        var i = quote + 1;
        while (i < text.Length)
        {
            var next = backslashEscapes ? text[i..].IndexOfAny('\'', '\\') : text[i..].IndexOf('\'');
            if (next < 0)
            {
                break;
            }

            i += next;
            if (text[i] == '\\')
            {
                i += 2;
                continue;
            }

            if (i + 1 < text.Length && text[i + 1] == '\'')
            {
                i += 2;
                continue;
            }

            return Emit(SqlTokenKind.String, start, i + 1 - start, out token);
        }

        return Fail("unterminated string literal", out token);
    }

    private bool QuotedIdentifier(int start, int quote, SqlTokenFlags flags, out SqlToken token)
    {
        var text = _text;
        var i = quote + 1;
        while (i < text.Length)
        {
            var next = text[i..].IndexOf('"');
            if (next < 0)
            {
                break;
            }

            i += next;
            if (i + 1 < text.Length && text[i + 1] == '"')
            {
                flags |= SqlTokenFlags.DoubledQuotes;
                i += 2;
                continue;
            }

            return Emit(SqlTokenKind.QuotedIdentifier, start, i + 1 - start, out token, SqlKeyword.None, flags);
        }

        return Fail("unterminated quoted identifier", out token);
    }

    /// <summary>$1 (parameter), $$…$$ or $tag$…$tag$ (string); a lone '$' is passed through as an operator.</summary>
    private bool DollarToken(int start, out SqlToken token)
    {
        var text = _text;
        var i = start + 1;
        if (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            return Emit(SqlTokenKind.Parameter, start, i - start, out token);
        }

        // A tag follows identifier rules without '$' and cannot start with a digit.
        if (i < text.Length && IsIdentifierStart(text[i]))
        {
            i++;
            while (i < text.Length && text[i] != '$' && IsIdentifierPart(text[i]))
            {
                i++;
            }
        }

        if (i >= text.Length || text[i] != '$')
        {
            return Single(SqlTokenKind.Operator, start, out token);
        }

        var tag = text[start..(i + 1)];
        var close = text[(i + 1)..].IndexOf(tag);
        if (close < 0)
        {
            return Fail("unterminated dollar-quoted string", out token);
        }

        return Emit(SqlTokenKind.String, start, i + 1 + close + tag.Length - start, out token);
    }

    private bool Number(int start, out SqlToken token)
    {
        var text = _text;
        var i = start;
        if (text[i] == '0' && i + 2 < text.Length && (text[i + 1] | 0x20) is 'x' or 'o' or 'b' && char.IsAsciiHexDigit(text[i + 2]))
        {
            // 0x1F, 0o17, 0b101 (PostgreSQL 16); hex digits are a superset of the others.
            i += 2;
            while (i < text.Length && (char.IsAsciiHexDigit(text[i]) || text[i] == '_'))
            {
                i++;
            }

            return Emit(SqlTokenKind.Number, start, i - start, out token);
        }

        i = Digits(i);
        if (i < text.Length && text[i] == '.' && !(i + 1 < text.Length && text[i + 1] == '.'))
        {
            i = Digits(i + 1);
        }

        // An exponent only when digits follow; otherwise the letter starts the next token, as in old servers ("1into").
        if (i < text.Length && (text[i] | 0x20) == 'e')
        {
            var j = i + 1;
            if (j < text.Length && text[j] is '+' or '-')
            {
                j++;
            }

            if (j < text.Length && char.IsAsciiDigit(text[j]))
            {
                i = Digits(j);
            }
        }

        return Emit(SqlTokenKind.Number, start, i - start, out token);
    }

    private int Digits(int i)
    {
        var text = _text;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || (text[i] == '_' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]))))
        {
            i++;
        }

        return i;
    }

    private bool Word(int start, out SqlToken token)
    {
        var text = _text;
        var c = text[start];
        if (start + 1 < text.Length)
        {
            var next = text[start + 1];
            if (next == '\'')
            {
                switch (c)
                {
                    case 'e' or 'E':
                        return QuotedString(start, start + 1, backslashEscapes: true, out token);
                    case 'b' or 'B' or 'x' or 'X' or 'n' or 'N':
                        return QuotedString(start, start + 1, backslashEscapes: false, out token);
                }
            }
            else if (next == '&' && c is 'u' or 'U' && start + 2 < text.Length)
            {
                // U&'…' and U&"…": their escapes are \XXXX, never \', so plain quote rules find the end.
                if (text[start + 2] == '\'')
                {
                    return QuotedString(start, start + 2, backslashEscapes: false, out token);
                }

                if (text[start + 2] == '"')
                {
                    return QuotedIdentifier(start, start + 2, SqlTokenFlags.Unicode, out token);
                }
            }
        }

        var i = ScanWord(text, start, out var keyword);
        return Emit(SqlTokenKind.Identifier, start, i - start, out token, keyword);
    }

    /// <summary>
    /// The end of the unquoted identifier or key word that starts at <paramref name="start"/> (an identifier start),
    /// and the <paramref name="keyword"/> it spells. Callers rule out the E'…', B'…', X'…', N'…' and U&amp;… prefixes first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int ScanWord(ReadOnlySpan<char> text, int start, out SqlKeyword keyword)
    {
        if (Vector128.IsHardwareAccelerated && start <= text.Length - Vector128<ushort>.Count)
        {
            // Most words are short: find the end among the next eight characters and look the word up as a vector,
            // with no branch per character.
            var chars = Vector128.LoadUnsafe(ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text)), (nuint)start);
            var nonAscii = Vector128.GreaterThanOrEqual(chars, Vector128.Create((ushort)0x80));
            var stops = ~IdentifierPartMask(chars, nonAscii) & 0xFFu;
            if (stops != 0)
            {
                // At most seven characters: the first one is an identifier start.
                var length = BitOperations.TrailingZeroCount(stops);
                var inWord = Vector128.LessThan(Vector128.Create((ushort)0, 1, 2, 3, 4, 5, 6, 7), Vector128.Create((ushort)length));
                keyword = (nonAscii & inWord) == Vector128<ushort>.Zero
                    ? SqlKeywords.IdentifyShort((chars | Vector128.Create((ushort)0x20)) & inWord)
                    : SqlKeyword.None;
                return start + length;
            }
        }

        var end = WordEnd(text, start, out var ascii);
        keyword = ascii ? SqlKeywords.Identify(text[start..end]) : SqlKeyword.None;
        return end;
    }

    /// <summary>
    /// Bit masks of the (up to) 64 characters from <paramref name="start"/>, bit n for text[start + n], all clear past
    /// the end of the text: see <see cref="BlockMasks"/>. <paramref name="start"/> must be where a token or whitespace starts.
    /// </summary>
    internal static BlockMasks Masks(ReadOnlySpan<char> text, int start)
    {
        CharMasks masks;
        if (text.Length >= 64)
        {
            // Near the end, the 64 characters that end the text, shifted: no character-by-character tail.
            var at = Math.Min(start, text.Length - 64);
            masks = Masks64(ref Unsafe.Add(ref MemoryMarshal.GetReference(text), at));
            masks.ShiftRight(start - at);
        }
        else
        {
            masks = ShortTextMasks(text[start..]);
        }

        var identifier = masks.Identifier;
        var valid = text.Length - start >= 64 ? ulong.MaxValue : (1UL << (text.Length - start)) - 1;
        var starts = ((identifier & ~(identifier << 1)) | ~(identifier | masks.Space)) & valid;

        // Not words for the fast path: a letter before ' or & (E'…', U&"…"), and a word that may run on past the block.
        var words = masks.Letter & ~(masks.PrefixEnd >> 1) & ~RunOnStart(identifier);
        return new BlockMasks(identifier, words, starts, masks.Quote);
    }

    /// <summary>The first bit of the run of identifier characters that reaches the end of the block (and may go on past it), or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong RunOnStart(ulong identifier)
    {
        // The leading one bits of identifier are that run; a run of all 64 starts at bit 0.
        var run = BitOperations.LeadingZeroCount(~identifier);
        return run != 0 ? 1UL << ((64 - run) & 63) : 0;
    }

    /// <summary><see cref="Masks64"/> of fewer than 64 characters, padded with zeros (which are none of the classes).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static CharMasks ShortTextMasks(ReadOnlySpan<char> text)
    {
        Span<char> padded = stackalloc char[64];
        text.CopyTo(padded);
        return Masks64(ref MemoryMarshal.GetReference(padded));
    }

    /// <summary>The classes of the 64 characters from <paramref name="first"/>.</summary>
    /// <remarks>
    /// The characters are narrowed to bytes first, all from U+00FF up to 0xFF (still non-ASCII), so that each class is
    /// tested on twice as many characters at a time.
    /// </remarks>
    private static CharMasks Masks64(ref char first)
    {
        ref var chars = ref Unsafe.As<char, ushort>(ref first);
        CharMasks masks = default;
        if (Vector512.IsHardwareAccelerated)
        {
            var max = Vector512.Create((ushort)0xFF);
            masks.Add(Vector512.Narrow(
                Vector512.Min(Vector512.LoadUnsafe(ref chars), max),
                Vector512.Min(Vector512.LoadUnsafe(ref chars, (nuint)Vector512<ushort>.Count), max)));
            return masks;
        }

        if (Vector256.IsHardwareAccelerated)
        {
            var max = Vector256.Create((ushort)0xFF);
            for (var i = 0; i < 64; i += Vector256<byte>.Count)
            {
                masks.Add(
                    Vector256.Narrow(
                        Vector256.Min(Vector256.LoadUnsafe(ref chars, (nuint)i), max),
                        Vector256.Min(Vector256.LoadUnsafe(ref chars, (nuint)(i + Vector256<ushort>.Count)), max)),
                    i);
            }

            return masks;
        }

        if (Vector128.IsHardwareAccelerated)
        {
            var max = Vector128.Create((ushort)0xFF);
            for (var i = 0; i < 64; i += Vector128<byte>.Count)
            {
                masks.Add(
                    Vector128.Narrow(
                        Vector128.Min(Vector128.LoadUnsafe(ref chars, (nuint)i), max),
                        Vector128.Min(Vector128.LoadUnsafe(ref chars, (nuint)(i + Vector128<ushort>.Count)), max)),
                    i);
            }

            return masks;
        }

        // No vector hardware.
        for (var n = 0; n < 64; n++)
        {
            var c = (char)Unsafe.Add(ref chars, n);
            var bit = 1UL << n;
            var kind = ClassOf(c);
            if (kind == Letter)
            {
                masks.Letter |= bit;
            }

            if (kind is Letter or Digit || c == '$')
            {
                masks.Identifier |= bit;
            }
            else if (kind == Space)
            {
                masks.Space |= bit;
            }
            else if (kind == Quote)
            {
                masks.Quote |= bit;
            }

            if (c is '\'' or '&')
            {
                masks.PrefixEnd |= bit;
            }
        }

        return masks;
    }

    /// <summary>Character classes of a block as bit masks, built a vector at a time.</summary>
    private struct CharMasks
    {
        /// <summary>Letters, '_' and non-ASCII: what starts an identifier.</summary>
        public ulong Letter;

        /// <summary>Letters, digits, '_', '$' and non-ASCII: what continues one.</summary>
        public ulong Identifier;

        public ulong Space;

        public ulong Quote;

        /// <summary>' and &amp;: what makes a letter before it a string or identifier prefix (E'…', U&amp;"…").</summary>
        public ulong PrefixEnd;

        public void ShiftRight(int count)
        {
            Letter >>= count;
            Identifier >>= count;
            Space >>= count;
            Quote >>= count;
            PrefixEnd >>= count;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(Vector512<byte> chars)
        {
            var letter = Vector512.LessThanOrEqual((chars | Vector512.Create((byte)0x20)) - Vector512.Create((byte)'a'), Vector512.Create((byte)('z' - 'a')))
                | Vector512.Equals(chars, Vector512.Create((byte)'_'))
                | Vector512.GreaterThanOrEqual(chars, Vector512.Create((byte)0x80));
            var identifier = letter
                | Vector512.LessThanOrEqual(chars - Vector512.Create((byte)'0'), Vector512.Create((byte)9))
                | Vector512.Equals(chars, Vector512.Create((byte)'$'));
            var space = Vector512.Equals(chars, Vector512.Create((byte)' '))
                | Vector512.LessThanOrEqual(chars - Vector512.Create((byte)'\t'), Vector512.Create((byte)('\r' - '\t')));
            var quote = Vector512.Equals(chars, Vector512.Create((byte)'\''));
            Letter = letter.ExtractMostSignificantBits();
            Identifier = identifier.ExtractMostSignificantBits();
            Space = space.ExtractMostSignificantBits();
            Quote = quote.ExtractMostSignificantBits();
            PrefixEnd = (quote | Vector512.Equals(chars, Vector512.Create((byte)'&'))).ExtractMostSignificantBits();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(Vector256<byte> chars, int at)
        {
            var letter = Vector256.LessThanOrEqual((chars | Vector256.Create((byte)0x20)) - Vector256.Create((byte)'a'), Vector256.Create((byte)('z' - 'a')))
                | Vector256.Equals(chars, Vector256.Create((byte)'_'))
                | Vector256.GreaterThanOrEqual(chars, Vector256.Create((byte)0x80));
            var identifier = letter
                | Vector256.LessThanOrEqual(chars - Vector256.Create((byte)'0'), Vector256.Create((byte)9))
                | Vector256.Equals(chars, Vector256.Create((byte)'$'));
            var space = Vector256.Equals(chars, Vector256.Create((byte)' '))
                | Vector256.LessThanOrEqual(chars - Vector256.Create((byte)'\t'), Vector256.Create((byte)('\r' - '\t')));
            var quote = Vector256.Equals(chars, Vector256.Create((byte)'\''));
            Letter |= (ulong)letter.ExtractMostSignificantBits() << at;
            Identifier |= (ulong)identifier.ExtractMostSignificantBits() << at;
            Space |= (ulong)space.ExtractMostSignificantBits() << at;
            Quote |= (ulong)quote.ExtractMostSignificantBits() << at;
            PrefixEnd |= (ulong)(quote | Vector256.Equals(chars, Vector256.Create((byte)'&'))).ExtractMostSignificantBits() << at;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(Vector128<byte> chars, int at)
        {
            var letter = Vector128.LessThanOrEqual((chars | Vector128.Create((byte)0x20)) - Vector128.Create((byte)'a'), Vector128.Create((byte)('z' - 'a')))
                | Vector128.Equals(chars, Vector128.Create((byte)'_'))
                | Vector128.GreaterThanOrEqual(chars, Vector128.Create((byte)0x80));
            var identifier = letter
                | Vector128.LessThanOrEqual(chars - Vector128.Create((byte)'0'), Vector128.Create((byte)9))
                | Vector128.Equals(chars, Vector128.Create((byte)'$'));
            var space = Vector128.Equals(chars, Vector128.Create((byte)' '))
                | Vector128.LessThanOrEqual(chars - Vector128.Create((byte)'\t'), Vector128.Create((byte)('\r' - '\t')));
            var quote = Vector128.Equals(chars, Vector128.Create((byte)'\''));
            Letter |= (ulong)letter.ExtractMostSignificantBits() << at;
            Identifier |= (ulong)identifier.ExtractMostSignificantBits() << at;
            Space |= (ulong)space.ExtractMostSignificantBits() << at;
            Quote |= (ulong)quote.ExtractMostSignificantBits() << at;
            PrefixEnd |= (ulong)(quote | Vector128.Equals(chars, Vector128.Create((byte)'&'))).ExtractMostSignificantBits() << at;
        }
    }

    /// <summary>Bit n set when character n of <paramref name="chars"/> may continue an identifier: a letter, digit, '_', '$' or non-ASCII.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint IdentifierPartMask(Vector128<ushort> chars, Vector128<ushort> nonAscii) =>
        (Vector128.LessThanOrEqual((chars | Vector128.Create((ushort)0x20)) - Vector128.Create((ushort)'a'), Vector128.Create((ushort)('z' - 'a')))
            | Vector128.LessThanOrEqual(chars - Vector128.Create((ushort)'0'), Vector128.Create((ushort)9))
            | Vector128.Equals(chars, Vector128.Create((ushort)'_'))
            | Vector128.Equals(chars, Vector128.Create((ushort)'$'))
            | nonAscii).ExtractMostSignificantBits();

    /// <summary>
    /// The end of the unquoted identifier or key word that starts at <paramref name="start"/> (an identifier start);
    /// <paramref name="ascii"/> is false when it has non-ASCII letters (so it is no key word). Callers rule out the
    /// E'…', B'…', X'…', N'…' and U&amp;… prefixes first.
    /// </summary>
    internal static int WordEnd(ReadOnlySpan<char> text, int start, out bool ascii)
    {
        ascii = text[start] < '\u0080';
        var i = start + 1;
        if (Vector128.IsHardwareAccelerated)
        {
            // Eight characters at a time, without a data-dependent branch per character: the word's length is
            // the position of the first character that is not a letter, digit, '_', '$' or non-ASCII.
            ref var first = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text));
            while (i <= text.Length - Vector128<ushort>.Count)
            {
                var chars = Vector128.LoadUnsafe(ref first, (nuint)i);
                var nonAscii = Vector128.GreaterThanOrEqual(chars, Vector128.Create((ushort)0x80));
                var stops = ~IdentifierPartMask(chars, nonAscii) & 0xFFu;
                var length = stops == 0 ? Vector128<ushort>.Count : BitOperations.TrailingZeroCount(stops);
                if ((nonAscii.ExtractMostSignificantBits() & ((1u << length) - 1)) != 0)
                {
                    // Non-ASCII letters belong to identifiers too (and make it no key word).
                    ascii = false;
                }

                i += length;
                if (stops != 0)
                {
                    return i;
                }
            }
        }

        // The last few characters of the text, or no vector hardware.
        while (i < text.Length && IsIdentifierPart(text[i]))
        {
            if (text[i] >= '\u0080')
            {
                ascii = false;
            }

            i++;
        }

        return i;
    }

    /// <summary>A run of operator characters, ending before any "--" or "/*" (which start comments, as in PostgreSQL).</summary>
    private bool Operator(int start, out SqlToken token)
    {
        var text = _text;
        var i = start + 1;
        while (i < text.Length && IsOperatorChar(text[i]))
        {
            if ((text[i] == '-' && text[i - 1] == '-') || (text[i] == '*' && text[i - 1] == '/'))
            {
                i--;
                break;
            }

            i++;
        }

        return Emit(SqlTokenKind.Operator, start, i - start, out token);
    }
}

/// <summary>The masks of a block of 64 characters (see <see cref="SqlLexer.Masks"/>): bit n is for the block's character n.</summary>
internal readonly struct BlockMasks(ulong identifier, ulong words, ulong starts, ulong quotes)
{
    /// <summary>The characters that may continue an identifier (see <see cref="SqlLexer.IsIdentifierPart"/>).</summary>
    public ulong Identifier { get; } = identifier;

    /// <summary>
    /// Letters ('_' and non-ASCII included) where a word may start that is plain and ends in the block: not before ' or
    /// &amp;, and not in the run of identifier characters that reaches the end of the block.
    /// </summary>
    public ulong Words { get; } = words;

    /// <summary>
    /// Where a token may start: the first character of each run of identifier characters, and every character that is
    /// neither whitespace nor an identifier character.
    /// </summary>
    public ulong Starts { get; } = starts;

    /// <summary>The ' characters.</summary>
    public ulong Quotes { get; } = quotes;
}
