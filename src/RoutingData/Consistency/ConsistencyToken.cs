using System.Globalization;
using NpgsqlTypes;

namespace RoutingData;

/// <summary>
/// A position in one cluster's WAL: the cluster's <c>system_identifier</c>, the timeline of the primary the position was
/// taken on, and an LSN. A read may be served by a replica only if it has replayed past the session's token on the same
/// history. Its text form is <c>7712776800228422479:1:0/3016218</c>, followed by <c>:0/3015F00</c> — the session's own
/// write position (<see cref="WriteLsn"/>) — when that is lower; the older form without the timeline
/// (<c>7712776800228422479:0/3016218</c>) is still read, as a token whose timeline is unknown and whose whole position
/// counts as written.
/// </summary>
/// <remarks>
/// LSNs of different timelines are only comparable up to the point where one timeline left the other (the fork point
/// a promotion writes to the new timeline's history file): a position on timeline 1 past the point where timeline 2
/// forked off it is not on timeline 2 at all — those writes were lost in the failover.
/// </remarks>
/// <param name="SystemIdentifier">The cluster's <c>system_identifier</c> (the same on the primary and its replicas).</param>
/// <param name="Timeline">The timeline of the primary the position was taken on; 0 when unknown (a token in the older text form).</param>
/// <param name="Lsn">The WAL position.</param>
public readonly record struct ConsistencyToken(ulong SystemIdentifier, int Timeline, NpgsqlLogSequenceNumber Lsn)
{
    /// <summary>Creates a token whose timeline is unknown (as tokens in the older text form are).</summary>
    /// <param name="systemIdentifier">The cluster's <c>system_identifier</c>.</param>
    /// <param name="lsn">The WAL position.</param>
    public ConsistencyToken(ulong systemIdentifier, NpgsqlLogSequenceNumber lsn)
        : this(systemIdentifier, 0, lsn)
    {
    }

    /// <summary>
    /// Gets the part of <see cref="Lsn"/> the session must see because it wrote it (its own commands on the primary);
    /// the rest it only happened to see (what its reads returned). Null: not told apart — the whole position counts as
    /// written (tokens in the older forms, and positions whose write part equals <see cref="Lsn"/>).
    /// </summary>
    /// <remarks>
    /// A read is served by a replica that has replayed <see cref="Lsn"/>. When a replica has replayed the write position
    /// but not yet <see cref="Lsn"/>, a read may wait briefly for it instead of reading the primary again
    /// (<see cref="ReplicatedDbOptions.MaxRejoinWait"/>); and only writes past a failover's fork point are reported lost.
    /// </remarks>
    public NpgsqlLogSequenceNumber? WriteLsn { get; init; }

    /// <summary>Gets the position the session must see: <see cref="WriteLsn"/> when told apart, else <see cref="Lsn"/>.</summary>
    internal ulong MustSee => WriteLsn is { } write && write < Lsn ? (ulong)write : (ulong)Lsn;

    /// <summary>
    /// The token text: <c>system_identifier:timeline:LSN</c>, plus <c>:WRITE_LSN</c> when the session's write position is
    /// lower than LSN; <c>system_identifier:LSN</c> when the timeline is unknown (the whole position then counts as written).
    /// </summary>
    /// <returns>The text form.</returns>
    public override string ToString() => Timeline == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{SystemIdentifier}:{Lsn}")
        : WriteLsn is { } write && write < Lsn
            ? string.Create(CultureInfo.InvariantCulture, $"{SystemIdentifier}:{Timeline}:{Lsn}:{write}")
            : string.Create(CultureInfo.InvariantCulture, $"{SystemIdentifier}:{Timeline}:{Lsn}");

    /// <summary>
    /// Parses the text form (without a signature): <c>system_identifier:timeline:LSN</c>, optionally followed by
    /// <c>:WRITE_LSN</c>, or <c>system_identifier:LSN</c>.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="token">The token, if the text is well formed.</param>
    /// <returns>Whether the text was a token.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out ConsistencyToken token) => TryParse(text, out token, out _);

    /// <summary>Parses the text form; on failure, <paramref name="problem"/> says which part is wrong.</summary>
    internal static bool TryParse(ReadOnlySpan<char> text, out ConsistencyToken token, out string? problem)
    {
        token = default;
        var colon = text.IndexOf(':');
        if (colon < 0)
        {
            problem = "it has no ':'";
            return false;
        }

        if (!ulong.TryParse(text[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var systemId))
        {
            problem = $"the system identifier '{Shown(text[..colon])}' is not a decimal number";
            return false;
        }

        var rest = text[(colon + 1)..];
        var timeline = 0;
        var second = rest.IndexOf(':');
        if (second >= 0)
        {
            // PostgreSQL numbers timelines from 1; 0 has no text form (it is written as the older two-part form).
            if (!int.TryParse(rest[..second], NumberStyles.None, CultureInfo.InvariantCulture, out timeline) || timeline == 0)
            {
                problem = $"the timeline '{Shown(rest[..second])}' is not a number from 1 to {int.MaxValue}";
                return false;
            }

            rest = rest[(second + 1)..];
        }

        NpgsqlLogSequenceNumber? write = null;
        var third = timeline == 0 ? -1 : rest.IndexOf(':');
        if (third >= 0)
        {
            if (!TryParseLsn(rest[(third + 1)..], out var writeLsn))
            {
                problem = $"the write position '{Shown(rest[(third + 1)..])}' is not of the form X/Y (two hexadecimal numbers of up to 8 digits)";
                return false;
            }

            write = writeLsn;
            rest = rest[..third];
        }

        if (!TryParseLsn(rest, out var lsn))
        {
            problem = $"the LSN '{Shown(rest)}' is not of the form X/Y (two hexadecimal numbers of up to 8 digits)";
            return false;
        }

        if (write is { } w && w > lsn)
        {
            problem = $"the write position {w} is past the LSN {lsn}";
            return false;
        }

        problem = null;
        token = new ConsistencyToken(systemId, timeline, lsn) { WriteLsn = write };
        return true;
    }

    // Only a bounded, printable excerpt of what a client sent goes into a message.
    private static string Shown(ReadOnlySpan<char> part)
    {
        Span<char> shown = stackalloc char[Math.Min(part.Length, 24)];
        for (var i = 0; i < shown.Length; i++)
        {
            shown[i] = char.IsControl(part[i]) ? '?' : part[i];
        }

        return part.Length > shown.Length ? new string(shown) + "…" : new string(shown);
    }

    private static bool TryParseLsn(ReadOnlySpan<char> text, out NpgsqlLogSequenceNumber lsn)
    {
        lsn = default;
        var slash = text.IndexOf('/');
        if (slash <= 0 || slash > 8 || text.Length - slash - 1 is <= 0 or > 8
            || !uint.TryParse(text[..slash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var high)
            || !uint.TryParse(text[(slash + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var low))
        {
            return false;
        }

        lsn = new NpgsqlLogSequenceNumber(((ulong)high << 32) | low);
        return true;
    }
}
