namespace RoutingData;

/// <summary>
/// What happens when a consistency session's writes are found lost in a failover: its token is on an older timeline,
/// past the point where the new primary's timeline forked off it (see <see cref="SessionWritesLostException"/>).
/// </summary>
public enum LostWritesPolicy
{
    /// <summary>The session's next command throws <see cref="SessionWritesLostException"/>, once (the default).</summary>
    Throw = 0,

    /// <summary>The loss is only logged (a warning) and counted (<c>routingdata.lost_writes</c>); the command goes on.</summary>
    Ignore,
}
