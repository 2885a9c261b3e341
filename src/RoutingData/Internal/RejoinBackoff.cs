namespace RoutingData.Internal;

/// <summary>
/// The backoff after a wait to rejoin a replica that did not catch up: success clears it, each failure doubles it
/// (1 s to 30 s). Kept per session and per replica, in the owner's own fields (no object per session).
/// </summary>
internal static class RejoinBackoff
{
    public static void Record(ref int failures, ref long notBefore, bool caughtUp, long now, long ticksPerSecond)
    {
        if (caughtUp)
        {
            Volatile.Write(ref failures, 0);
            Volatile.Write(ref notBefore, 0);
            return;
        }

        var count = Math.Min(Interlocked.Increment(ref failures), 6);
        var seconds = Math.Min(1L << (count - 1), 30L);
        InterlockedMax.Raise(ref notBefore, now + (seconds * ticksPerSecond));
    }
}
