namespace RoutingData.Testing;

/// <summary>
/// Thrown when no PostgreSQL server binaries (<c>initdb</c>, <c>pg_ctl</c>, <c>postgres</c>) can be found.
/// The message lists every place that was searched and how to install the binaries.
/// </summary>
public sealed class PostgresBinariesNotFoundException : Exception
{
    /// <summary>Creates the exception with a message that lists the searched locations.</summary>
    /// <param name="message">The message.</param>
    public PostgresBinariesNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public PostgresBinariesNotFoundException()
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public PostgresBinariesNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
