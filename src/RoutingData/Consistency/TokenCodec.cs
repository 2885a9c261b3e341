using System.Security.Cryptography;
using System.Text;

namespace RoutingData.Consistency;

/// <summary>
/// The exported form of a session token: <c>system_identifier:timeline:LSN</c>, optionally followed by <c>.signature</c>
/// (HMAC-SHA256 over the token text, 128 bits, base64url) so clients cannot forge tokens that force primary reads.
/// </summary>
/// <remarks>
/// Tokens exported before timelines were carried read <c>system_identifier:LSN</c> and are still accepted (timeline
/// unknown, compared as before). The signature covers the body exactly as it was written, so a signed token of either
/// form keeps verifying, and neither form can be turned into the other without the key.
/// </remarks>
internal sealed class TokenCodec(byte[]? signingKey)
{
    private const int SignatureBytes = 16;

    public bool Signs => signingKey is not null;

    public string Encode(ConsistencyToken token)
    {
        var text = token.ToString();
        return signingKey is null ? text : text + "." + Sign(text);
    }

    /// <summary>Decodes and checks a token; returns null with the reason when it cannot be used.</summary>
    public ConsistencyToken? Decode(string text, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 128)
        {
            problem = "The consistency token is empty or too long.";
            return null;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var body = dot < 0 ? text : text[..dot];
        if (!ConsistencyToken.TryParse(body, out var token, out var wrong))
        {
            problem = $"The consistency token is not of the form 'system_identifier:timeline:LSN' (e.g. 7712776800228422479:1:0/3016218): {wrong}.";
            return null;
        }

        if (signingKey is not null)
        {
            if (dot < 0)
            {
                problem = "The consistency token is not signed, but this data source requires signed tokens.";
                return null;
            }

            var expected = Encoding.ASCII.GetBytes(Sign(body));
            var actual = Encoding.ASCII.GetBytes(text[(dot + 1)..]);
            if (!CryptographicOperations.FixedTimeEquals(expected, actual))
            {
                problem = "The consistency token's signature does not match.";
                return null;
            }
        }

        return token;
    }

    private string Sign(string body)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(signingKey, Encoding.ASCII.GetBytes(body), mac);
        return Convert.ToBase64String(mac[..SignatureBytes]).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
