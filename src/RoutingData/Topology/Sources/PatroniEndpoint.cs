using System.Net.Http.Headers;
using System.Text;

namespace RoutingData.Topology.Sources;

/// <summary>
/// One Patroni REST endpoint: the <c>/cluster</c> URI without user info, the Basic authorization made from the user
/// info, and the form that may appear in messages.
/// </summary>
internal sealed class PatroniEndpoint
{
    private readonly string[] _secrets = [];

    public PatroniEndpoint(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!IsUsable(uri))
        {
            throw new ArgumentException("A Patroni endpoint must be an absolute http:// or https:// URI.", nameof(uri));
        }

        var builder = new UriBuilder(uri) { UserName = string.Empty, Password = string.Empty, Query = string.Empty, Fragment = string.Empty };
        if (!builder.Path.EndsWith("/cluster", StringComparison.Ordinal))
        {
            builder.Path = builder.Path.TrimEnd('/') + "/cluster";
        }

        ClusterUri = builder.Uri;
        Display = ClusterUri.GetLeftPart(UriPartial.Path);
        if (uri.UserInfo.Length > 0)
        {
            var separator = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(separator < 0 ? uri.UserInfo : uri.UserInfo[..separator]);
            var password = separator < 0 ? string.Empty : Uri.UnescapeDataString(uri.UserInfo[(separator + 1)..]);
            Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
            var rawPassword = separator < 0 ? string.Empty : uri.UserInfo[(separator + 1)..];
            _secrets = new[] { uri.UserInfo, Uri.UnescapeDataString(uri.UserInfo), rawPassword, password, Authorization.Parameter! }
                .Where(s => s.Length > 0)
                .Distinct(StringComparer.Ordinal)
                .OrderByDescending(s => s.Length)
                .ToArray();
        }
    }

    /// <summary>The URI requested: <c>/cluster</c> under the endpoint, without user info.</summary>
    public Uri ClusterUri { get; }

    /// <summary>The endpoint as messages and logs show it (no user info).</summary>
    public string Display { get; }

    public AuthenticationHeaderValue? Authorization { get; }

    public static bool IsUsable(Uri? uri) =>
        uri is { IsAbsoluteUri: true } && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0;

    /// <summary>Removes the user info from a message, in case an error ever quotes it.</summary>
    public string Scrub(string message)
    {
        foreach (var secret in _secrets)
        {
            message = message.Replace(secret, "***", StringComparison.Ordinal);
        }

        return message;
    }
}
