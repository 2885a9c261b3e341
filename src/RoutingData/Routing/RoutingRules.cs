using RoutingData.Sql;
namespace RoutingData.Routing;

/// <summary>Small shared rules of routing.</summary>
internal static class RoutingRules
{
    /// <summary>
    /// A SQL hint beats the command's preference, which beats the connection's, which beats the ambient scope's (an
    /// endpoint's attribute), which beats the data source's.
    /// </summary>
    public static ReadPreference EffectivePreference(in StatementClassification classification, ReadPreference? commandPreference, RoutedConnection connection) =>
        classification.Hint ?? commandPreference ?? connection.ReadPreference ?? ConsistencyScope.Current?.ReadPreference ?? connection.ReplicatedDataSource.Options.DefaultReadPreference;
}
