using RoutingData.Routing;
using Xunit;
using RoutingData.Sql;

namespace RoutingData.Tests.Sql;

/// <summary>Token boundaries for the forms that hide or reveal key words.</summary>
public sealed class SqlLexerTests
{
    private static string Describe(string sql)
    {
        var lexer = new SqlLexer(sql);
        var parts = new List<string>();
        while (lexer.Next(out var token))
        {
            var text = sql.Substring(token.Start, token.Length);
            parts.Add(token.Kind switch
            {
                SqlTokenKind.Identifier => token.Keyword == SqlKeyword.None ? $"id:{text}" : $"kw:{token.Keyword}",
                SqlTokenKind.QuotedIdentifier => $"qid:{text}",
                SqlTokenKind.String => $"str:{text}",
                SqlTokenKind.Number => $"num:{text}",
                SqlTokenKind.Parameter => $"param:{text}",
                SqlTokenKind.Operator => $"op:{text}",
                SqlTokenKind.Cast => "::",
                _ => text,
            });
        }

        if (lexer.Error is { } error)
        {
            parts.Add("error:" + error);
        }

        return string.Join(" ", parts);
    }

    [Theory]
    [InlineData("SELECT a FROM t", "kw:Select id:a kw:From id:t")]
    [InlineData("select A_b$1 from \"T\"\"x\"", "kw:Select id:A_b$1 kw:From qid:\"T\"\"x\"")]
    [InlineData("'it''s' E'a\\'b' U&'x' B'01' X'ff' N'n'", "str:'it''s' str:E'a\\'b' str:U&'x' str:B'01' str:X'ff' str:N'n'")]
    [InlineData("U&\"a\" \"\"", "qid:U&\"a\" qid:\"\"")]
    [InlineData("$$a$$ $t$ $$ $t$ $1 $23", "str:$$a$$ str:$t$ $$ $t$ param:$1 param:$23")]
    [InlineData("a$$b", "id:a$$b")]
    [InlineData("1 1.5 .5 1e10 1.5e-3 0x1F 1_000", "num:1 num:1.5 num:.5 num:1e10 num:1.5e-3 num:0x1F num:1_000")]
    [InlineData("1into", "num:1 kw:Into")]
    [InlineData("a::numeric(10,2)", "id:a :: id:numeric ( num:10 , num:2 )")]
    [InlineData("a[1:2]", "id:a [ num:1 op:: num:2 ]")]
    [InlineData("@p :p x>=y", "op:@ id:p op:: id:p id:x op:>= id:y")]
    [InlineData("1+--c\n2", "num:1 op:+ num:2")]
    [InlineData("1*/*c*/2", "num:1 op:* num:2")]
    [InlineData("a /* x /* y */ z */ b", "id:a id:b")]
    [InlineData("a -- x\r\nb", "id:a id:b")]
    [InlineData("t.c;", "id:t . id:c ;")]
    [InlineData("ınsert", "id:ınsert")]
    [InlineData("'abc", "error:unterminated string literal")]
    [InlineData("E'abc\\'", "error:unterminated string literal")]
    [InlineData("\"abc", "error:unterminated quoted identifier")]
    [InlineData("a /* /* */", "id:a error:unterminated block comment")]
    [InlineData("$q$abc$$", "error:unterminated dollar-quoted string")]
    [InlineData("$ x", "op:$ id:x")]
    public void Tokens(string sql, string expected)
    {
        Assert.Equal(expected, Describe(sql));
    }

    [Fact]
    public void Keywords_are_recognised_in_any_ascii_case_only()
    {
        Assert.Equal(SqlKeyword.Select, SqlKeywords.Identify("SeLeCt"));
        Assert.Equal(SqlKeyword.CurrentTimestamp, SqlKeywords.Identify("CURRENT_TIMESTAMP"));
        Assert.Equal(SqlKeyword.None, SqlKeywords.Identify("selectx"));
        Assert.Equal(SqlKeyword.None, SqlKeywords.Identify("ſelect"));
        Assert.Equal(SqlKeyword.None, SqlKeywords.Identify("x"));
    }

    [Fact]
    public void Garbage_never_hangs_or_throws()
    {
        var random = new Random(42);
        const string Alphabet = "sElECT$'\"-/*();:.,E&U\\ \n1@[]xqbnB";
        for (var i = 0; i < 5000; i++)
        {
            var chars = new char[random.Next(0, 40)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = Alphabet[random.Next(Alphabet.Length)];
            }

            var result = StatementClassifier.ClassifyUncached(new string(chars), FunctionCatalog.CreateDefault([], []));
            Assert.NotNull(result.Reason);
        }
    }
}
