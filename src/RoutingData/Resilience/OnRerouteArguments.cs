using Polly;

namespace RoutingData;

/// <summary>The arguments of <see cref="RerouteStrategyOptions.OnReroute"/>: one command about to run again elsewhere.</summary>
public readonly struct OnRerouteArguments
{
    /// <summary>Creates the arguments.</summary>
    /// <param name="context">The command's resilience context.</param>
    /// <param name="cause">Why the command runs again.</param>
    /// <param name="error">The error of the attempt that failed.</param>
    /// <param name="failedOn">The route of the attempt that failed.</param>
    /// <param name="next">Where the command runs next.</param>
    public OnRerouteArguments(ResilienceContext context, RerouteCause cause, Exception error, RouteInfo failedOn, RouteInfo next)
    {
        Context = context;
        Cause = cause;
        Error = error;
        FailedOn = failedOn;
        Next = next;
    }

    /// <summary>Gets the command's resilience context.</summary>
    public ResilienceContext Context { get; }

    /// <summary>Gets why the command runs again.</summary>
    public RerouteCause Cause { get; }

    /// <summary>Gets the error of the attempt that failed.</summary>
    public Exception Error { get; }

    /// <summary>Gets the route of the attempt that failed.</summary>
    public RouteInfo FailedOn { get; }

    /// <summary>Gets where the command runs next.</summary>
    public RouteInfo Next { get; }
}
