namespace RoutingData;

/// <summary>Where a read may be served.</summary>
public enum ReadPreference
{
    /// <summary>A healthy replica within the lag bound; the primary when none is eligible (the default).</summary>
    ReplicaPreferred = 0,

    /// <summary>Always the primary.</summary>
    Primary,

    /// <summary>The primary; a replica only when no primary is available.</summary>
    PrimaryPreferred,

    /// <summary>Only a replica; a <see cref="NoSuitableHostException"/> when none is eligible.</summary>
    Replica,

    /// <summary>The host with the lowest measured round-trip time among the primary and the eligible replicas.</summary>
    Nearest,
}
