using RoutingData.Routing;
using Xunit;
using RoutingData.Sql;

namespace RoutingData.Tests.Sql;

/// <summary>The Reason text says why, for logs and diagnostics.</summary>
public sealed class ClassificationReasonTests
{
    private static readonly FunctionCatalog Catalog = FunctionCatalog.CreateDefault([], []);

    [Theory]
    [InlineData("SELECT 1", "SELECT")]
    [InlineData("(SELECT 1)", "SELECT")]
    [InlineData("WITH x AS (SELECT 1) SELECT * FROM x", "WITH")]
    [InlineData("VALUES (1)", "VALUES")]
    [InlineData("TABLE t", "TABLE")]
    [InlineData("SHOW search_path", "SHOW")]
    [InlineData("", "empty")]
    [InlineData("/* nothing */", "empty")]
    [InlineData("SELECT 1; SELECT 2", "multiple statements")]
    [InlineData("SELECT nextval('s')", "function nextval")]
    [InlineData("SELECT NextVal('s')", "function nextval")]
    [InlineData("SELECT pg_catalog.setval('s', 1)", "function pg_catalog.setval")]
    [InlineData("SELECT \"a\"\"b\"(1)", "unknown function a\"b")]
    [InlineData("SELECT foo(1)", "unknown function foo")]
    [InlineData("SELECT My_Schema.Foo(1)", "unknown function my_schema.foo")]
    [InlineData("SELECT pg_advisory_lock(1)", "function pg_advisory_lock")]
    [InlineData("SELECT nextval('s'), pg_advisory_lock(1)", "function pg_advisory_lock")]
    [InlineData("SELECT foo(1), nextval('s')", "unknown function foo")]
    [InlineData("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "data-modifying CTE")]
    [InlineData("SELECT * FROM t FOR UPDATE", "FOR UPDATE")]
    [InlineData("SELECT * FROM t FOR NO KEY UPDATE", "FOR NO KEY UPDATE")]
    [InlineData("SELECT * FROM t FOR SHARE", "FOR SHARE")]
    [InlineData("SELECT * FROM t FOR KEY SHARE", "FOR KEY SHARE")]
    [InlineData("SELECT * INTO x FROM t", "SELECT INTO")]
    [InlineData("EXPLAIN DELETE FROM t", "EXPLAIN")]
    [InlineData("EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE")]
    [InlineData("EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN ANALYZE of a write")]
    [InlineData("EXPLAIN EXECUTE s", "EXPLAIN EXECUTE")]
    [InlineData("COPY t FROM STDIN", "COPY FROM")]
    [InlineData("COPY t TO STDOUT", "COPY TO")]
    [InlineData("COPY t TO '/tmp/x'", "COPY TO file")]
    [InlineData("COPY t TO PROGRAM 'x'", "COPY TO PROGRAM")]
    [InlineData("COPY (SELECT nextval('s')) TO STDOUT", "function nextval")]
    [InlineData("SET search_path = x", "SET (session)")]
    [InlineData("SET LOCAL x = 1", "SET LOCAL")]
    [InlineData("SET TRANSACTION READ ONLY", "SET TRANSACTION")]
    [InlineData("SET CONSTRAINTS ALL DEFERRED", "SET CONSTRAINTS")]
    [InlineData("CREATE TEMP TABLE x (a int)", "CREATE TEMP")]
    [InlineData("PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION")]
    [InlineData("PREPARE s AS SELECT 1", "PREPARE")]
    [InlineData("DECLARE c CURSOR FOR SELECT 1", "DECLARE")]
    [InlineData("INSERT INTO t VALUES (1)", "INSERT")]
    [InlineData("SELECT 1; DELETE FROM t; UPDATE t SET a = 1", "DELETE")]
    [InlineData("BEGIN; DELETE FROM t", "BEGIN")]
    [InlineData("SECURITY LABEL ON TABLE t IS 'x'", "SECURITY LABEL")]
    [InlineData("FROBNICATE", "unrecognized statement")]
    [InlineData("SELECT 'abc", "unterminated string literal")]
    [InlineData("SELECT \"abc", "unterminated quoted identifier")]
    [InlineData("SELECT 1 /* abc", "unterminated block comment")]
    [InlineData("SELECT $x$abc", "unterminated dollar-quoted string")]
    [InlineData("SELECT (1", "unbalanced parentheses")]
    public void Reason_says_why(string sql, string expected)
    {
        Assert.Equal(expected, StatementClassifier.ClassifyUncached(sql, Catalog).Reason);
    }

    [Fact]
    public void Fixed_reasons_are_shared_strings()
    {
        var first = StatementClassifier.ClassifyUncached("SELECT * FROM t FOR UPDATE", Catalog);
        var second = StatementClassifier.ClassifyUncached("SELECT * FROM u FOR UPDATE", Catalog);

        Assert.Same(first.Reason, second.Reason);
    }

    [Fact]
    public void Very_deep_nesting_goes_to_the_primary()
    {
        var sql = "SELECT " + new string('(', 70) + "1" + new string(')', 70);

        var result = StatementClassifier.ClassifyUncached(sql, Catalog);

        Assert.Equal(StatementKind.Write, result.Kind);
        Assert.Equal("nesting too deep", result.Reason);
    }

    [Fact]
    public void Combine_prefers_pinning_then_writes_and_keeps_the_first_hint()
    {
        var read = new StatementClassification(StatementKind.Read, ReadPreference.Nearest, "SELECT");
        var write = new StatementClassification(StatementKind.Write, ReadPreference.Primary, "INSERT");
        var set = new StatementClassification(StatementKind.SessionState, null, "SET (session)");
        var begin = new StatementClassification(StatementKind.TransactionControl, null, "BEGIN");

        Assert.Equal(StatementKind.Read, StatementClassification.Combine(read, read).Kind);
        Assert.Equal("multiple statements", StatementClassification.Combine(read, read).Reason);
        Assert.Equal(StatementKind.Write, StatementClassification.Combine(read, write).Kind);
        Assert.Equal(ReadPreference.Nearest, StatementClassification.Combine(read, write).Hint);
        Assert.Equal(StatementKind.SessionState, StatementClassification.Combine(write, set).Kind);
        Assert.Equal(StatementKind.TransactionControl, StatementClassification.Combine(begin, set).Kind);
        Assert.Equal(StatementKind.Write, StatementClassification.NonText(System.Data.CommandType.StoredProcedure).Kind);
    }
}
