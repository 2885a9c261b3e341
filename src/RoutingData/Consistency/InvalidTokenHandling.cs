namespace RoutingData;

/// <summary>What happens to a consistency token that cannot be used (garbage, a bad signature, another cluster, far ahead).</summary>
public enum InvalidTokenHandling
{
    /// <summary>Throw <see cref="ConsistencyTokenException"/> (the default).</summary>
    Reject = 0,

    /// <summary>Drop the token and go on as a fresh session.</summary>
    Ignore,
}
