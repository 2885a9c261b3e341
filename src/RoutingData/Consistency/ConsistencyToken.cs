using System.Globalization;
using NpgsqlTypes;

namespace RoutingData;

/// <summary>
/// A position in one cluster's WAL: the cluster's <c>system_identifier</c> and an LSN. A read may be served by a
/// replica only if it has replayed past the session's token. Its text form is <c>7712776800228422479:0/3016218</c>.
/// </summary>
/// <param name="SystemIdentifier">The cluster's <c>system_identifier</c> (the same on the primary and its replicas).</param>
/// <param name="Lsn">The WAL position.</param>
public readonly record struct ConsistencyToken(ulong SystemIdentifier, NpgsqlLogSequenceNumber Lsn)
{
    /// <summary>The token text: <c>system_identifier:LSN</c>.</summary>
    /// <returns>The text form.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{SystemIdentifier}:{Lsn}");

    /// <summary>Parses the text form (without a signature).</summary>
    /// <param name="text">The text.</param>
    /// <param name="token">The token, if the text is well formed.</param>
    /// <returns>Whether the text was a token.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out ConsistencyToken token)
    {
        token = default;
        var colon = text.IndexOf(':');
        if (colon <= 0
            || !ulong.TryParse(text[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var systemId)
            || !TryParseLsn(text[(colon + 1)..], out var lsn))
        {
            return false;
        }

        token = new ConsistencyToken(systemId, lsn);
        return true;
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
