using RoutingData.Routing;
using Xunit;
using RoutingData.Sql;

namespace RoutingData.Tests.Sql;

/// <summary>The per-text cache: repeated texts are not classified again, and it stays bounded.</summary>
public sealed class StatementClassifierCacheTests
{
    [Fact]
    public void Repeated_text_returns_the_cached_result()
    {
        var classifier = new StatementClassifier(FunctionCatalog.CreateDefault([], []));
        const string Sql = "SELECT my_function(1)";

        var first = classifier.Classify(Sql);
        // A different string instance with the same text hits the same entry.
        var second = classifier.Classify(new string(Sql.AsSpan()));

        Assert.Equal("unknown function my_function", first.Reason);
        Assert.Same(first.Reason, second.Reason);
        Assert.Equal(first.Kind, second.Kind);
        Assert.Equal(1, classifier.CachedCount);
    }

    [Fact]
    public void Capacity_bound_is_respected()
    {
        var classifier = new StatementClassifier(FunctionCatalog.CreateDefault([], []), cacheCapacity: 10);

        for (var i = 0; i < 95; i++)
        {
            classifier.Classify($"SELECT {i}");
            Assert.InRange(classifier.CachedCount, 1, 10);
        }

        Assert.Equal(10, classifier.Capacity);
    }

    [Fact]
    public void Very_long_texts_are_not_cached()
    {
        var classifier = new StatementClassifier(FunctionCatalog.CreateDefault([], []));
        var sql = "SELECT '" + new string('x', StatementClassifier.MaxCachedLength) + "'";

        Assert.True(classifier.Classify(sql).IsRead);
        Assert.Equal(0, classifier.CachedCount);
    }

    [Fact]
    public void Classifier_uses_its_catalog()
    {
        var catalog = FunctionCatalog.CreateDefault(["my_function"], []);
        var classifier = new StatementClassifier(catalog);

        Assert.Same(catalog, classifier.Catalog);
        Assert.True(classifier.Classify("SELECT my_function(1)").IsRead);
    }

    [Fact]
    public void Concurrent_use_is_safe()
    {
        var classifier = new StatementClassifier(FunctionCatalog.CreateDefault([], []), cacheCapacity: 50);

        Parallel.For(0, 2000, i =>
        {
            var result = classifier.Classify(i % 2 == 0 ? $"SELECT {i % 100}" : $"DELETE FROM t WHERE id = {i % 100}");
            Assert.Equal(i % 2 == 0, result.IsRead);
        });

        Assert.InRange(classifier.CachedCount, 1, 60);
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        Assert.Throws<ArgumentNullException>(() => new StatementClassifier(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StatementClassifier(FunctionCatalog.CreateDefault([], []), 0));
        Assert.Throws<ArgumentNullException>(() => new StatementClassifier(FunctionCatalog.CreateDefault([], [])).Classify(null!));
    }
}
