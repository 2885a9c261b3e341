namespace RoutingData.Internal;

/// <summary>Lock-free "raise to at least": positions only ever move forward.</summary>
internal static class InterlockedMax
{
    public static void Raise(ref ulong location, ulong value)
    {
        var current = Volatile.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Raises <paramref name="location"/> to <paramref name="value"/> if that is higher, atomically.</summary>
    public static void Raise(ref long location, long value)
    {
        var current = Volatile.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
