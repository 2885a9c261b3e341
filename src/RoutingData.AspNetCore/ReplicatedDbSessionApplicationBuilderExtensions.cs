using Microsoft.AspNetCore.Builder;

namespace RoutingData.AspNetCore;

/// <summary>Adds one consistency session per request.</summary>
public static class ReplicatedDbSessionApplicationBuilderExtensions
{
    /// <summary>
    /// Gives each request one consistency session, shared by every routed connection the request opens: an injected
    /// <c>DbConnection</c>, connections of the injected <c>DbDataSource</c> or <see cref="ReplicatedDataSource"/>, and every
    /// <c>DbContext</c> configured with <c>UseReplicatedDb</c>. The session is resumed from the <c>RoutingData-Session</c>
    /// request header, else the cookie of that name, and written back to both (the cookie HttpOnly, SameSite=Lax, Secure on
    /// HTTPS) when the request wrote. Tokens are protected with ASP.NET Core Data Protection when it is registered, so app
    /// servers sharing its keys accept each other's tokens. An endpoint's <see cref="ReadPreferenceAttribute"/> or
    /// <see cref="ReadFromPrimaryAttribute"/> sets where the request's reads go.
    /// </summary>
    /// <remarks>
    /// A token that is forged, of another cluster or ahead of the primary is handled per
    /// <see cref="ReplicatedDbOptions.InvalidTokenHandling"/>: ignored (the request starts a fresh session) or rejected with
    /// 400 Bad Request and the cookie removed; it never reaches the handler as an exception. Call it after <c>UseRouting</c>
    /// (WebApplication adds routing first by itself) so endpoint attributes are seen. Needs <c>AddReplicatedDb</c>.
    /// </remarks>
    /// <param name="app">The application.</param>
    /// <param name="configure">Changes the header or cookie name.</param>
    /// <returns>The application.</returns>
    public static IApplicationBuilder UseReplicatedDbSessions(this IApplicationBuilder app, Action<ReplicatedDbSessionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = new ReplicatedDbSessionOptions();
        configure?.Invoke(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.HeaderName, "options.HeaderName");
        ArgumentException.ThrowIfNullOrWhiteSpace(options.CookieName, "options.CookieName");
        return app.UseMiddleware<ReplicatedDbSessionMiddleware>(options);
    }
}
