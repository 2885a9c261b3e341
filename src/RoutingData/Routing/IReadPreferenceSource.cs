namespace RoutingData.Routing;

/// <summary>An attribute or endpoint metadata that sets a read preference (<see cref="ReadPreferenceAttribute"/>, <see cref="ReadFromPrimaryAttribute"/>).</summary>
internal interface IReadPreferenceSource
{
    ReadPreference ReadPreference { get; }
}
