using RoutingData.Sql;
using Xunit;

namespace RoutingData.Tests.Differential;

/// <summary>The differential test's inputs: the generator is deterministic and covers both sides, the seed corpus parses.</summary>
public sealed class StatementGeneratorTests
{
    private static readonly FunctionCatalog Catalog = FunctionCatalog.CreateDefault([], []);

    [Fact]
    public void The_same_seed_gives_the_same_statements()
    {
        var first = new StatementGenerator(42);
        var second = new StatementGenerator(42);
        var other = new StatementGenerator(43);
        var differ = 0;
        for (var i = 0; i < 500; i++)
        {
            var text = first.Next();
            Assert.Equal(text, second.Next());
            differ += text == other.Next() ? 0 : 1;
        }

        Assert.True(differ > 400, $"seeds 42 and 43 gave {500 - differ} equal texts of 500");
    }

    [Fact]
    public void Generated_statements_are_of_every_kind_and_carry_no_markers()
    {
        var generator = new StatementGenerator(7);
        var kinds = new Dictionary<StatementKind, int>();
        var multi = 0;
        for (var i = 0; i < 3000; i++)
        {
            var text = generator.Next();
            Assert.DoesNotContain(StatementGenerator.Open, text);
            Assert.DoesNotContain(StatementGenerator.Close, text);
            var classification = StatementClassifier.ClassifyUncached(text, Catalog);
            kinds[classification.Kind] = kinds.GetValueOrDefault(classification.Kind) + 1;
            multi += classification.IsMultiStatement ? 1 : 0;
        }

        foreach (var kind in Enum.GetValues<StatementKind>())
        {
            Assert.True(kinds.GetValueOrDefault(kind) > 0, $"no {kind} among 3000 texts");
        }

        // Even without pg_proc (user functions unknown, so pinning) a good share must be provably read-only.
        Assert.True(kinds[StatementKind.Read] > 300, $"only {kinds[StatementKind.Read]} reads of 3000");
        Assert.True(multi > 100, $"only {multi} texts with several statements");
    }

    [Fact]
    public void The_seed_corpus_has_tricky_reads_and_refused_writes()
    {
        var corpus = SeedCorpus.Load();
        Assert.True(corpus.Count >= 150, $"only {corpus.Count} entries");
        Assert.Contains(corpus, e => e.Expected == StandbyVerdict.Ran);
        Assert.Contains(corpus, e => e.Expected == StandbyVerdict.Refused);
        Assert.All(corpus, e => Assert.False(string.IsNullOrWhiteSpace(e.Sql), e.Description));
        Assert.Equal(corpus.Count, corpus.Select(e => e.Description).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Seed_corpus_entries_keep_their_lines()
    {
        var corpus = SeedCorpus.Parse("-- header\n-- @@ [runs] one\nSELECT 1 -- c\n; SELECT 2\n-- @@ two\nSELECT 3\n");
        Assert.Equal(2, corpus.Count);
        Assert.Equal(new SeedEntry("[runs] one", StandbyVerdict.Ran, "SELECT 1 -- c\n; SELECT 2"), corpus[0]);
        Assert.Equal(new SeedEntry("two", null, "SELECT 3"), corpus[1]);
    }
}
