namespace RoutingData;

/// <summary>
/// No host can serve a command: no primary for a write, no eligible replica for a read that must go to one,
/// or no host answers at all. The message names every host and why it was not used.
/// </summary>
public sealed class NoSuitableHostException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was needed and why each host could not serve it.</param>
    public NoSuitableHostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public NoSuitableHostException()
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="message">What was needed and why each host could not serve it.</param>
    /// <param name="innerException">The cause, e.g. an <see cref="AggregateException"/> of each host's error.</param>
    public NoSuitableHostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets a value indicating whether the command needed the primary and none was known (a failover's gap).</summary>
    internal bool NoPrimary { get; init; }
}
