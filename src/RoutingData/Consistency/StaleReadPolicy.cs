namespace RoutingData;

/// <summary>What a read does when no replica has replayed past the session's token.</summary>
public enum StaleReadPolicy
{
    /// <summary>Read from the primary, which always has the session's writes (the default).</summary>
    FallbackToPrimary = 0,

    /// <summary>Wait up to <see cref="ReplicatedDbOptions.MaxReadYourWritesWait"/> for a replica to catch up, then read from the primary.</summary>
    Wait,

    /// <summary>Throw <see cref="ReplicaNotCaughtUpException"/>.</summary>
    Throw,
}
