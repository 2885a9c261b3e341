namespace RoutingData.Testing.Faults;

/// <summary>What a <see cref="TcpFaultProxy"/> does with traffic.</summary>
public enum ProxyMode
{
    /// <summary>Forward everything unchanged.</summary>
    Pass,

    /// <summary>Forward everything, each chunk delayed by <see cref="TcpFaultProxy.Latency"/> in each direction.</summary>
    Latency,

    /// <summary>Accept connections and read from them, but never answer or forward anything: a host that hangs.</summary>
    Blackhole,

    /// <summary>Reset every open connection and every new one at once (TCP RST): a host that refuses.</summary>
    Reset,
}
