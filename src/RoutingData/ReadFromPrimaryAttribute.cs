namespace RoutingData;

/// <summary>
/// Reads from the primary for everything the attribute is placed on: an entity class (every EF Core query that touches
/// it, including through <c>Include</c>), a <c>DbContext</c> class, an MVC controller or action, or a minimal-API
/// endpoint. The same as <c>[ReadPreference(ReadPreference.Primary)]</c>; see <see cref="ReadPreferenceAttribute"/>
/// for which of several wins.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, Inherited = true, AllowMultiple = false)]
public sealed class ReadFromPrimaryAttribute : Attribute, Routing.IReadPreferenceSource
{
    /// <summary>Gets <see cref="ReadPreference.Primary"/>.</summary>
    public ReadPreference ReadPreference => ReadPreference.Primary;
}
