namespace RoutingData;

/// <summary>How reads are spread over the eligible replicas.</summary>
public enum LoadBalancingStrategy
{
    /// <summary>Each new logical connection takes the next replica in turn (the default).</summary>
    RoundRobin = 0,

    /// <summary>A uniformly random replica.</summary>
    Random,

    /// <summary>Power of two choices: of two random replicas, the one with fewer commands in flight.</summary>
    LeastOutstanding,

    /// <summary>A random replica, in proportion to <see cref="ReplicatedDbOptions.ReplicaWeights"/>.</summary>
    Weighted,
}
