namespace RoutingData.Sql;

/// <summary>Finds a <c>routing:xxx</c> hint in the text of a comment.</summary>
internal static class RoutingHints
{
    private const string Marker = "routing:";

    /// <summary>The first well-formed hint in <paramref name="comment"/>; malformed ones ("routing:somewhere") are skipped.</summary>
    public static bool TryFind(ReadOnlySpan<char> comment, out ReadPreference hint)
    {
        while (true)
        {
            var at = comment.IndexOf(Marker, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                hint = default;
                return false;
            }

            comment = comment[(at + Marker.Length)..];
            // Longer names first: "replica-preferred" also starts with "replica".
            if (Matches(comment, "replica-preferred"))
            {
                hint = ReadPreference.ReplicaPreferred;
                return true;
            }

            if (Matches(comment, "primary-preferred"))
            {
                hint = ReadPreference.PrimaryPreferred;
                return true;
            }

            if (Matches(comment, "replica"))
            {
                hint = ReadPreference.Replica;
                return true;
            }

            if (Matches(comment, "primary"))
            {
                hint = ReadPreference.Primary;
                return true;
            }

            if (Matches(comment, "nearest"))
            {
                hint = ReadPreference.Nearest;
                return true;
            }
        }
    }

    private static bool Matches(ReadOnlySpan<char> text, string value)
    {
        if (!text.StartsWith(value, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // The value must end there: "routing:primaryish" is not a hint.
        if (text.Length == value.Length)
        {
            return true;
        }

        var next = text[value.Length];
        return !(char.IsLetterOrDigit(next) || next is '-' or '_');
    }
}
