namespace RoutingData;

/// <summary>
/// The configured hosts do not belong to one replication cluster: they report different
/// <c>system_identifier</c>s. RoutingData refuses to route rather than mix data from two databases.
/// </summary>
public sealed class ClusterMismatchException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The hosts and the identifier each reported.</param>
    public ClusterMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ClusterMismatchException()
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="message">The hosts and the identifier each reported.</param>
    /// <param name="innerException">The cause.</param>
    public ClusterMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
