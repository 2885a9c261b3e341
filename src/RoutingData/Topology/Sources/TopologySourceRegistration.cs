namespace RoutingData.Topology.Sources;

/// <summary>A source the monitor polls, and whether the data source made it (and so disposes it) or was given it.</summary>
internal readonly record struct TopologySourceRegistration(ITopologySource Source, bool Owned);
