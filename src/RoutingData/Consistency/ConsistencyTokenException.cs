namespace RoutingData;

/// <summary>
/// A consistency token could not be used: it is not a token, its signature does not match, it comes from another
/// cluster, or it is further ahead of the primary than any real write could be. The message says which.
/// </summary>
public sealed class ConsistencyTokenException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong with the token.</param>
    public ConsistencyTokenException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ConsistencyTokenException()
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="message">What is wrong with the token.</param>
    /// <param name="innerException">The cause.</param>
    public ConsistencyTokenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
