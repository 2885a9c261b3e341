using RoutingData.Topology;

namespace RoutingData.Routing;

/// <summary>Where one execution goes; a struct so routing allocates nothing.</summary>
internal readonly record struct RoutingDecision(HostRuntime Host, HostRole Role, RoutingReason Reason, string Detail)
{
    public RouteInfo ToRouteInfo() => new(Host.Endpoint.Name, Role, Reason, Detail);
}
