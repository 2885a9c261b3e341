namespace RoutingData.AspNetCore;

/// <summary>How <see cref="ReplicatedDbSessionApplicationBuilderExtensions.UseReplicatedDbSessions"/> carries a session between requests.</summary>
public sealed class ReplicatedDbSessionOptions
{
    /// <summary>Gets or sets the request and response header that carries the session token.</summary>
    /// <value>The default value is <c>RoutingData-Session</c>.</value>
    public string HeaderName { get; set; } = "RoutingData-Session";

    /// <summary>Gets or sets the cookie that carries the session token when the request has no header.</summary>
    /// <value>The default value is <c>RoutingData-Session</c>.</value>
    public string CookieName { get; set; } = "RoutingData-Session";

    /// <summary>Gets or sets the cookie's path.</summary>
    /// <value>The default value is <c>/</c>.</value>
    public string CookiePath { get; set; } = "/";

    /// <summary>Gets or sets a value indicating whether the token is written to the cookie as well as to the response header.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool UseCookie { get; set; } = true;
}
