namespace RoutingData;

/// <summary>What the topology monitor knows of a host's health.</summary>
public enum HostHealth
{
    /// <summary>Not probed yet.</summary>
    Unknown,

    /// <summary>The last probe answered.</summary>
    Healthy,

    /// <summary>The last probe failed; the host takes no commands and is re-probed with backoff.</summary>
    Unhealthy,
}
