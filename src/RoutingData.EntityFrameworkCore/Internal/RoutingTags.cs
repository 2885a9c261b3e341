namespace RoutingData.EntityFrameworkCore.Internal;

/// <summary>The query tags that carry a read preference to the router as a SQL hint (<c>-- routing:primary</c>).</summary>
internal static class RoutingTags
{
    public const string Prefix = "routing:";

    public static string For(ReadPreference readPreference) => readPreference switch
    {
        ReadPreference.Primary => "routing:primary",
        ReadPreference.PrimaryPreferred => "routing:primary-preferred",
        ReadPreference.Replica => "routing:replica",
        ReadPreference.Nearest => "routing:nearest",
        ReadPreference.ReplicaPreferred => "routing:replica-preferred",
        _ => throw new ArgumentOutOfRangeException(nameof(readPreference), readPreference, "Unknown read preference."),
    };
}
