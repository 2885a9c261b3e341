using RoutingData.Routing;
using Xunit;
using RoutingData.Sql;

namespace RoutingData.Tests.Sql;

/// <summary>Routing hints in comments: each value, first wins, never from literals, never changes the kind.</summary>
public sealed class RoutingHintTests
{
    private static readonly FunctionCatalog Catalog = FunctionCatalog.CreateDefault([], []);

    [Theory]
    [InlineData("/* routing:primary */ SELECT 1", ReadPreference.Primary)]
    [InlineData("/* routing:replica */ SELECT 1", ReadPreference.Replica)]
    [InlineData("/* routing:replica-preferred */ SELECT 1", ReadPreference.ReplicaPreferred)]
    [InlineData("/* routing:primary-preferred */ SELECT 1", ReadPreference.PrimaryPreferred)]
    [InlineData("/* routing:nearest */ SELECT 1", ReadPreference.Nearest)]
    [InlineData("SELECT 1 -- routing:nearest", ReadPreference.Nearest)]
    [InlineData("-- routing:replica\nSELECT 1", ReadPreference.Replica)]
    [InlineData("SELECT 1 /* ROUTING:PRIMARY */", ReadPreference.Primary)]
    [InlineData("SELECT 1 /* Routing:Replica-Preferred */", ReadPreference.ReplicaPreferred)]
    [InlineData("SELECT /* why: routing:replica because reporting */ 1", ReadPreference.Replica)]
    [InlineData("SELECT 1 /* outer /* routing:nearest */ still */", ReadPreference.Nearest)]
    [InlineData("SELECT 1; SELECT 2 /* routing:primary */", ReadPreference.Primary)]
    [InlineData("/*routing:replica*/SELECT 1", ReadPreference.Replica)]
    [InlineData("SELECT 1 /* routing:somewhere routing:primary */", ReadPreference.Primary)]
    public void Hint_is_read_from_comments(string sql, ReadPreference expected)
    {
        Assert.Equal(expected, StatementClassifier.ClassifyUncached(sql, Catalog).Hint);
    }

    [Theory]
    [InlineData("/* routing:replica */ /* routing:primary */ SELECT 1", ReadPreference.Replica)]
    [InlineData("-- routing:nearest\nSELECT 1 /* routing:primary */", ReadPreference.Nearest)]
    [InlineData("/* routing:primary routing:replica */ SELECT 1", ReadPreference.Primary)]
    public void First_hint_wins(string sql, ReadPreference expected)
    {
        Assert.Equal(expected, StatementClassifier.ClassifyUncached(sql, Catalog).Hint);
    }

    [Theory]
    [InlineData("SELECT 'routing:replica'")]
    [InlineData("SELECT '/* routing:replica */'")]
    [InlineData("SELECT $$ -- routing:replica $$")]
    [InlineData("SELECT \"/* routing:replica */\" FROM t")]
    [InlineData("SELECT E'\\' /* routing:replica */'")]
    [InlineData("SELECT 1 /* routing:elsewhere */")]
    [InlineData("SELECT 1 /* routing:primaryish */")]
    [InlineData("SELECT 1 /* routing: primary */")]
    [InlineData("SELECT 1 /* routing-primary */")]
    [InlineData("SELECT 1")]
    public void No_hint_outside_comments_or_when_malformed(string sql)
    {
        Assert.Null(StatementClassifier.ClassifyUncached(sql, Catalog).Hint);
    }

    [Fact]
    public void Hint_on_a_write_keeps_it_a_write()
    {
        var result = StatementClassifier.ClassifyUncached("/* routing:replica */ DELETE FROM t", Catalog);

        Assert.Equal(StatementKind.Write, result.Kind);
        Assert.Equal(ReadPreference.Replica, result.Hint);
    }

    [Fact]
    public void Hint_on_session_state_keeps_it_pinning()
    {
        var result = StatementClassifier.ClassifyUncached("SET search_path = x -- routing:nearest", Catalog);

        Assert.True(result.PinsSession);
        Assert.Equal(ReadPreference.Nearest, result.Hint);
    }

    [Fact]
    public void Hint_on_a_read_keeps_it_a_read()
    {
        var result = StatementClassifier.ClassifyUncached("/* routing:primary */ SELECT * FROM t", Catalog);

        Assert.True(result.IsRead);
        Assert.Equal(ReadPreference.Primary, result.Hint);
    }

    [Fact]
    public void Hint_before_an_unterminated_literal_is_kept()
    {
        var result = StatementClassifier.ClassifyUncached("/* routing:replica */ SELECT 'oops", Catalog);

        Assert.Equal(StatementKind.Write, result.Kind);
        Assert.Equal(ReadPreference.Replica, result.Hint);
    }
}
