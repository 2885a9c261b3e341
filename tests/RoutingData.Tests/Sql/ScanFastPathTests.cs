using System.Text;
using RoutingData.Routing;
using Xunit;
using RoutingData.Sql;

namespace RoutingData.Tests.Sql;

/// <summary>
/// The classifier's fast path (simple tokens lexed inline, 64-character bit masks, vector key word lookup) must agree
/// with the token-by-token reference path on every text: same kind, reason and hint.
/// </summary>
public sealed class ScanFastPathTests
{
    private static readonly FunctionCatalog Catalog = FunctionCatalog.CreateDefault(["my_read_fn"], ["my_write_fn"]);

    private static readonly string[] Statements =
    [
        "SELECT 1",
        "SELECT a FROM t FOR UPDATE",
        "SELECT a FROM t FOR NO KEY UPDATE",
        "SELECT nextval('s')",
        "SELECT s.nextval('x'), pg_catalog.lower('A')",
        "SELECT * INTO t2 FROM t",
        "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
        "WITH a(x) AS (SELECT 1), b(y) AS (SELECT 2) SELECT * FROM a, b",
        "SELECT * FROM t x(a), f() y(b)",
        "SELECT x::numeric(10,2), y:numeric(1), 'it''s', 'FOR UPDATE', E'a\\'b', U&'x', $$for update$$",
        "SELECT 1e3, 0x1F, 1_000, 1.5, .5, 1into, 12abc, 1..2",
        "SELECT a-1, a--comment FOR UPDATE\n FROM t",
        "SELECT a /* FOR UPDATE */ FROM t -- routing:replica",
        "/* routing:primary */ SELECT a+-1, a<=b, a@>b, a!=b, a||b, a/b, a*b FROM t",
        "SELECT \"lower\"(x), \"my\"\"fn\"(y), U&\"f\"(z) FROM t",
        "SELECT a FROM t WHERE a = ANY($1) AND b IN (SELECT c FROM u) GROUP BY CUBE(a), ROLLUP(b)",
        "SELECT OPERATOR(pg_catalog.+)(1), x FROM t",
        "SELECT count(*) FILTER (WHERE a > 1) OVER (PARTITION BY b ORDER BY c) FROM t",
        "SELECT 'unterminated",
        "SELECT (1",
        "SELECT 1); SELECT 2",
        "SELECT 1; UPDATE t SET a = 1",
        "SELECT ınsert, ſelect, sélect, café(1) FROM t",
        "SELECT a FROM t; SET search_path = x",
        "COPY (SELECT my_write_fn(1)) TO STDOUT",
        "EXPLAIN ANALYZE SELECT nextval('s')",
        "SELECT CURRENT_TIMESTAMP, current_date, localtimestamp(3), characteristics(1)",
        "TABLE t",
        "VALUES (1, 'a'), (2, 'b')",
        "SELECT $1, $2::int, a[1:2], a[$3] FROM t",
        "SELECT a FROM t ORDER BY a FETCH FIRST 1 ROWS ONLY FOR SHARE",
        "SELECT my_read_fn(a), my_write_fn(b) FROM t",
        "SELECT a\tFROM\r\nt\fWHERE\va = 1",
        "SELECT a_very_long_identifier_name_that_goes_on_and_on_for_quite_a_while_longer_than_64_chars FROM t FOR UPDATE",
        "SELECT 'a string that runs well past one block of sixty-four characters, and then some more' FROM t FOR UPDATE",
        "SELECT 'a string that runs well past one block of sixty-four characters, with '' inside, too' FROM t",
        "SELECT 1abc, 12$1, $1abc, 'x'y, $$d$$z, x::int8c, 1.5e3x, \"q\"w FROM t",
        "SELECT lower(a), LOWER(b), LoWeR(c), NextVal('s') FROM t",
        "SELECT OPERATOR(pg_catalog.+)(1), (a) f(x), OPERATOR(+) (b) FROM t WHERE OPERATOR(pg_catalog.=)(c)(d) > 0",
        "SELECT a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d(1)",
        "SELECT ñame(1), 名前(2), \"x\"(3), sélect(4) FROM t",
        "SELECT e'x', E'\\'', u&'x', U&\"y\", b'1', X'f', n'z', ex'y' FROM t",
        "WITH a AS (SELECT 1) SELECT * FROM a GROUP BY CUBE(x), ROLLUP(y) HAVING count(*) > 1 ORDER BY 1 LIMIT 2 OFFSET 3",
        "SELECT t.my_write_fn, (t).my_write_fn, t.\"my_write_fn\", s.t.my_write_fn, (t.*).my_write_fn FROM s.my_write_fn t JOIN s.nextval ON true",
        "SELECT x.my_read_fn, x.nextval, x.lower, x::s.my_write_fn, CAST(x AS s.my_write_fn), my_fn(1) FROM t x ORDER BY x.my_write_fn",
        "SELECT 1 AS insert INTO TEMP a, t.merge INTO b, 1 insert INTO c, (1) merge INTO d FROM t",
        "EXPLAIN SELECT t.id, nextval('s'), txid_current(), my_fn(1) FROM t WHERE t.a = pg_walfile_name('0/1')",
        "EXPLAIN SELECT set_config('a', 'b', false), t.my_write_fn, 1 AS merge INTO TEMP x FROM t",
    ];

    public static TheoryData<string> Texts()
    {
        var data = new TheoryData<string>();
        foreach (var statement in Statements)
        {
            data.Add(statement);
        }

        return data;
    }

    private static void AssertSame(string sql)
    {
        var fast = StatementClassifier.ClassifyUncached(sql, Catalog, fastPath: true);
        var reference = StatementClassifier.ClassifyUncached(sql, Catalog, fastPath: false);
        Assert.True(
            fast.Kind == reference.Kind && fast.Reason == reference.Reason && fast.Hint == reference.Hint,
            $"{sql.ReplaceLineEndings(" ")} => fast {fast}, reference {reference}");
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void Agrees_with_the_reference_at_every_alignment(string statement)
    {
        // Padding moves every token across the 64-character block boundaries and the end of the text.
        for (var pad = 0; pad <= 80; pad++)
        {
            AssertSame(new string(' ', pad) + statement);
            AssertSame("SELECT" + new string(' ', pad + 1) + statement[Math.Min(6, statement.Length)..]);
            AssertSame(statement + new string('\n', pad % 9) + new string(' ', pad));
            AssertSame("SELECT " + new string('x', pad + 1) + " AS y, " + statement[Math.Min(7, statement.Length)..]);
        }
    }

    [Fact]
    public void Agrees_with_the_reference_on_every_suffix_and_prefix()
    {
        foreach (var statement in Statements)
        {
            for (var i = 0; i < statement.Length; i++)
            {
                AssertSame("SELECT " + statement[i..]);
                AssertSame(statement[..i]);
            }
        }
    }

    [Fact]
    public void Agrees_with_the_reference_on_random_texts()
    {
        var random = new Random(1234);
        string[] pieces =
        [
            "SELECT", "select", "FOR", "update", "Update", "INTO", "WITH", "AS", "(", ")", ",", ".", " ", "  ", "\n    ", "\t",
            "nextval", "lower", "x", "abc_def", "t1", "1", "12", "1.5", "1e5", "0x1F", "'s'", "''", "'a''b'", "\"q\"", "::",
            ":", "-", "--c\n", "/* c */", "+", "<=", "$1", "$$d$$", ";", "[", "]", "ſ", "é", "GROUP", "BY", "CUBE", "ORDER",
            "OPERATOR", "my_write_fn", "pg_catalog", "E'x'", "U&'x'", "n'x'", "DELETE", "merge", "VALUES", "TABLE", "LIMIT",
        ];
        var builder = new StringBuilder();
        for (var n = 0; n < 3000; n++)
        {
            builder.Clear();
            builder.Append(random.Next(3) == 0 ? "WITH " : "SELECT ");
            var count = random.Next(1, 60);
            for (var k = 0; k < count; k++)
            {
                builder.Append(pieces[random.Next(pieces.Length)]);
                if (random.Next(3) != 0)
                {
                    builder.Append(' ');
                }
            }

            AssertSame(builder.ToString());
        }
    }

    [Fact]
    public void Agrees_with_the_reference_on_dense_tokens_and_deep_parens()
    {
        // As many tokens per 64-character block as possible (one per character), and nesting past the tracked depth:
        // the fast path keeps per-block buffers of tokens and events, so these are its worst cases.
        string[] units = ["(", ")", ",", "x(", "(x", "a,", "x.", "1,", "$1,", "+", "::x(", "FOR(", "x)", "'',", "\"\"(", "-1"];
        foreach (var unit in units)
        {
            for (var n = 1; n <= 220; n += 7)
            {
                AssertSame("SELECT " + string.Concat(Enumerable.Repeat(unit, n)));
                AssertSame("SELECT " + new string('(', n) + "1" + new string(')', n) + unit);
            }
        }

        var random = new Random(4321);
        string[] pieces = ["(", ")", ",", "x", "1", ".", "+", "'", "\"", ";", "$", ":", "-", "/", "*", "F", "O", "R"];
        var builder = new StringBuilder();
        for (var n = 0; n < 1000; n++)
        {
            builder.Clear().Append("SELECT ");
            var count = random.Next(1, 400);
            for (var k = 0; k < count; k++)
            {
                builder.Append(pieces[random.Next(pieces.Length)]);
            }

            AssertSame(builder.ToString());
        }
    }

    [Fact]
    public void Long_names_and_dotted_names_before_a_paren_are_unknown_functions()
    {
        // A dotted name longer than the scanner's token ring remembers, and names longer than any function name.
        var dotted = "SELECT " + string.Join(".", Enumerable.Repeat("a", 100)) + "(1) FROM t";
        var longName = "SELECT " + new string('f', 200) + "(1) FROM t";
        var longQuoted = "SELECT \"" + new string('f', 200) + "\"(1) FROM t";
        foreach (var sql in new[] { dotted, longName, longQuoted })
        {
            var result = StatementClassifier.ClassifyUncached(sql, Catalog);
            Assert.Equal(StatementKind.SessionState, result.Kind);
            Assert.StartsWith("unknown function", result.Reason, StringComparison.Ordinal);
            AssertSame(sql);
        }
    }

    [Fact]
    public void Function_names_fold_ascii_only_whatever_block_they_fall_in()
    {
        for (var pad = 0; pad <= 70; pad++)
        {
            var spaces = new string(' ', pad);
            Assert.Equal(StatementKind.Read, StatementClassifier.ClassifyUncached($"SELECT{spaces} LoWeR(a), COALESCE(b, 1) FROM t", Catalog).Kind);
            Assert.Equal(StatementKind.Write, StatementClassifier.ClassifyUncached($"SELECT{spaces} NEXTVAL('s')", Catalog).Kind);
            Assert.Equal(StatementKind.SessionState, StatementClassifier.ClassifyUncached($"SELECT{spaces} Pg_Advisory_Lock(1)", Catalog).Kind);
            Assert.Equal(StatementKind.Write, StatementClassifier.ClassifyUncached($"SELECT{spaces} Pg_Stat_Reset_Shared('x')", Catalog).Kind);

            // Only A-Z fold: "ſ" is not "s", "ı" is not "i".
            Assert.Equal(StatementKind.SessionState, StatementClassifier.ClassifyUncached($"SELECT{spaces} ſum(a) FROM t", Catalog).Kind);
            Assert.Equal(StatementKind.SessionState, StatementClassifier.ClassifyUncached($"SELECT{spaces} mın(a) FROM t", Catalog).Kind);
        }
    }

    [Fact]
    public void Short_key_word_lookup_matches_the_full_one()
    {
        var words = new List<string>();
        foreach (var keyword in Enum.GetValues<SqlKeyword>())
        {
            if (keyword == SqlKeyword.None)
            {
                continue;
            }

            // Enum names are PascalCase for snake_case key words: CurrentTimestamp is current_timestamp.
            var name = string.Concat(keyword.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
            words.Add(name);
            words.Add(name.ToUpperInvariant());
            words.Add(name[..1].ToUpperInvariant() + name[1..]);
            words.Add(name + "x");
            words.Add(name[..^1]);
            words.Add("x" + name);
        }

        words.AddRange(["a", "ab", "abc", "o", "id", "sum", "count", "lower", "ſelect", "selecţ", "in_", "_in", "$in", "i$n", "1n"]);
        foreach (var word in words.Where(w => w.Length is > 0 and <= SqlKeywords.ShortLength && w.All(c => c < 128)))
        {
            Assert.Equal(SqlKeywords.Identify(word), SqlKeywords.IdentifyShort(SqlKeywords.FoldShort(word)));
        }

        Assert.Equal(SqlKeyword.Select, SqlKeywords.IdentifyShort(SqlKeywords.FoldShort("SeLeCt")));
        Assert.Equal(SqlKeyword.None, SqlKeywords.IdentifyShort(SqlKeywords.FoldShort("selec")));
    }

    [Fact]
    public void Lexer_words_keep_their_key_words_near_the_end_and_in_the_middle()
    {
        foreach (var text in new[] { "update", "x update", "update x", "UPDATE         ", "a,update,b", "update(", "(upDATE)", "t.x=update" })
        {
            var lexer = new SqlLexer(text);
            var found = SqlKeyword.None;
            while (lexer.Next(out var token))
            {
                if (token.Kind == SqlTokenKind.Identifier && text.Substring(token.Start, token.Length).Equals("update", StringComparison.OrdinalIgnoreCase))
                {
                    found = token.Keyword;
                }
            }

            Assert.Equal(SqlKeyword.Update, found);
        }
    }
}
