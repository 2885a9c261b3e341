namespace RoutingData;

/// <summary>
/// Says where reads go for everything the attribute is placed on: an entity class (every EF Core query that touches it),
/// a <c>DbContext</c> class (its queries), an MVC controller or action, or a minimal-API endpoint (as endpoint metadata:
/// every routed connection the request opens). Needs the EF Core or ASP.NET Core integration to take effect there.
/// </summary>
/// <remarks>
/// The narrowest wins: a query's own preference (<c>ReadFromPrimary()</c>, <c>WithReadPreference(…)</c> or a SQL hint),
/// then an entity's, then the endpoint's, then the <c>DbContext</c>'s, then the data source's default. Writes,
/// transactions and session state go to the primary whatever the attribute says.
/// </remarks>
/// <param name="readPreference">Where reads may be served.</param>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, Inherited = true, AllowMultiple = false)]
public sealed class ReadPreferenceAttribute(ReadPreference readPreference) : Attribute, Routing.IReadPreferenceSource
{
    /// <summary>Gets where reads may be served.</summary>
    public ReadPreference ReadPreference { get; } = readPreference;
}
