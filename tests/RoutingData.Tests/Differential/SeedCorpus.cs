using System.Text;

namespace RoutingData.Tests.Differential;

/// <summary>One statement of seed-corpus.sql: its description, what the standby must do with it if stated, and its text.</summary>
internal sealed record SeedEntry(string Description, StandbyVerdict? Expected, string Sql);

/// <summary>Reads seed-corpus.sql (embedded in the test assembly): entries start at lines "-- @@ description".</summary>
internal static class SeedCorpus
{
    private const string Marker = "-- @@";
    private const string ResourceName = "RoutingData.Tests.Differential.seed-corpus.sql";

    public static IReadOnlyList<SeedEntry> Load()
    {
        using var stream = typeof(SeedCorpus).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The resource {ResourceName} is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return Parse(reader.ReadToEnd());
    }

    public static IReadOnlyList<SeedEntry> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = new List<SeedEntry>();
        string? description = null;
        var sql = new StringBuilder();
        foreach (var line in text.ReplaceLineEndings("\n").Split('\n'))
        {
            if (line.StartsWith(Marker, StringComparison.Ordinal))
            {
                Add();
                description = line[Marker.Length..].Trim();
                sql.Clear();
            }
            else if (description is not null)
            {
                sql.Append(line).Append('\n');
            }
        }

        Add();
        return entries;

        void Add()
        {
            if (description is null)
            {
                return;
            }

            var statement = sql.ToString().TrimEnd('\n');
            if (statement.Trim().Length == 0)
            {
                throw new FormatException($"The seed corpus entry '{description}' has no statement.");
            }

            StandbyVerdict? expected = description.StartsWith("[refused]", StringComparison.Ordinal) ? StandbyVerdict.Refused
                : description.StartsWith("[runs]", StringComparison.Ordinal) ? StandbyVerdict.Ran
                : null;
            entries.Add(new SeedEntry(description, expected, statement));
        }
    }
}
