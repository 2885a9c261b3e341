using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RoutingData.Routing;

namespace RoutingData.AspNetCore;

/// <summary>Resumes, scopes and writes back the request's consistency session.</summary>
internal sealed class ReplicatedDbSessionMiddleware(RequestDelegate next, ReplicatedDbSessionOptions options, ILogger<ReplicatedDbSessionMiddleware> logger)
{
    private const string ProtectionPurpose = "RoutingData.ConsistencySession.v1";

    public async Task InvokeAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var dataSource = services.GetRequiredService<ReplicatedDataSource>();

        // The DI scope's session (AddReplicatedDb registers one): an injected DbConnection uses it, so it must be this one.
        var session = services.GetService<ConsistencySession>() ?? new ConsistencySession();
        var protector = services.GetService<IDataProtectionProvider>()?.CreateProtector(ProtectionPurpose);

        var (incoming, source) = ReadToken(context.Request);
        if (incoming is not null && !await TryResumeAsync(context, dataSource, session, protector, incoming, source).ConfigureAwait(false))
        {
            return;
        }

        var before = session.Token;
        context.Response.OnStarting(
            static state =>
            {
                var (middleware, context, dataSource, session, before, protector) = ((ReplicatedDbSessionMiddleware, HttpContext, ReplicatedDataSource, ConsistencySession, ConsistencyToken?, IDataProtector?))state;
                return middleware.WriteBackAsync(context, dataSource, session, before, protector);
            },
            (this, context, dataSource, session, before, protector));

        var preference = context.GetEndpoint()?.Metadata.GetMetadata<IReadPreferenceSource>()?.ReadPreference;
        using (ConsistencyScope.Begin(session, null, preference))
        {
            await next(context).ConfigureAwait(false);
        }
    }

    private (string? Token, string Source) ReadToken(HttpRequest request)
    {
        var header = request.Headers[options.HeaderName].ToString();
        if (!string.IsNullOrEmpty(header))
        {
            return (header, "header");
        }

        return request.Cookies.TryGetValue(options.CookieName, out var cookie) && !string.IsNullOrEmpty(cookie) ? (cookie, "cookie") : (null, "none");
    }

    /// <summary>False when the token was rejected and the 400 response is written.</summary>
    private async ValueTask<bool> TryResumeAsync(HttpContext context, ReplicatedDataSource dataSource, ConsistencySession session, IDataProtector? protector, string incoming, string source)
    {
        var reject = dataSource.Options.InvalidTokenHandling == InvalidTokenHandling.Reject;
        string? problem;
        try
        {
            var token = protector is null ? incoming : protector.Unprotect(incoming);
            dataSource.ResumeSessionInto(token, session);

            // Checked against the cluster now, not at the handler's first query: an error there would be a 500.
            await dataSource.ValidateResumedSessionAsync(session, context.RequestAborted).ConfigureAwait(false);
            if (session.Token is null)
            {
                // Ignored (another cluster's, garbage): say so, the request goes on with a fresh session.
                logger.InvalidSessionToken(source, "ignored", "it does not belong to this cluster or does not decode");
            }

            return true;
        }
        catch (CryptographicException e)
        {
            problem = "its protection does not verify with this application's Data Protection keys (" + e.Message + ")";
        }
        catch (ConsistencyTokenException e)
        {
            problem = e.Message;
        }

        logger.InvalidSessionToken(source, reject ? "rejected" : "ignored", problem);
        if (!reject)
        {
            return true;
        }

        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "text/plain; charset=utf-8";
        if (options.UseCookie)
        {
            context.Response.Cookies.Delete(options.CookieName, CookieOptions(context));
        }

        await context.Response.WriteAsync($"The {options.HeaderName} token is not valid for this service; send the request again without it.", context.RequestAborted).ConfigureAwait(false);
        return false;
    }

    private async Task WriteBackAsync(HttpContext context, ReplicatedDataSource dataSource, ConsistencySession session, ConsistencyToken? before, IDataProtector? protector)
    {
        // Only a request that wrote (or whose position moved) changes what the client must carry.
        if (session.PrimaryPendingSince == 0 && session.PrimaryInFlight == 0 && session.Token == before)
        {
            return;
        }

        string? token;
        try
        {
            token = await dataSource.ExportSessionAsync(session, context.RequestAborted).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The response is already decided: a failed export must not turn it into an error.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            logger.SessionNotWrittenBack(e);
            return;
        }

        if (token is null || session.Token == before)
        {
            return;
        }

        var value = protector is null ? token : protector.Protect(token);
        context.Response.Headers[options.HeaderName] = value;
        if (options.UseCookie)
        {
            context.Response.Cookies.Append(options.CookieName, value, CookieOptions(context));
        }
    }

    private CookieOptions CookieOptions(HttpContext context) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Lax,
        Secure = context.Request.IsHttps,
        Path = options.CookiePath,
        IsEssential = true,
    };
}
