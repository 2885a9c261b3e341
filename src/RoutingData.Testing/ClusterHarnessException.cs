namespace RoutingData.Testing;

/// <summary>
/// Thrown when the harness cannot do what was asked of a cluster: a server tool failed, a node did not
/// become ready in time, or a fault cannot be applied to a node in its current state. The message names
/// the node and the command, and points at the node's server log.
/// </summary>
public sealed class ClusterHarnessException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, naming the node.</param>
    public ClusterHarnessException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ClusterHarnessException()
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="message">What failed, naming the node.</param>
    /// <param name="innerException">The cause.</param>
    public ClusterHarnessException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
