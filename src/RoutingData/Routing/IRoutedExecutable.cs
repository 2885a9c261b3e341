namespace RoutingData.Routing;

/// <summary>A command or batch that can be told where it ran.</summary>
internal interface IRoutedExecutable
{
    void OnRouted(in RouteInfo route);
}
