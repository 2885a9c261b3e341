using System.Collections.Concurrent;
using System.Reflection;
using RoutingData.Routing;

namespace RoutingData.EntityFrameworkCore.Internal;

/// <summary>Reads <see cref="ReadPreferenceAttribute"/>/<see cref="ReadFromPrimaryAttribute"/> from classes, once per type.</summary>
internal static class ReadPreferenceAttributes
{
    private static readonly ConcurrentDictionary<Type, ReadPreference?> Cache = new();

    /// <summary>The preference a class declares (inherited from a base class too), or null.</summary>
    public static ReadPreference? Of(Type? type) =>
        type is null ? null : Cache.GetOrAdd(type, static t => t.GetCustomAttributes(inherit: true).OfType<IReadPreferenceSource>().FirstOrDefault()?.ReadPreference);

    /// <summary>Of two preferences of things one query touches, the one nearer the primary: <c>[ReadFromPrimary]</c> always wins.</summary>
    public static ReadPreference? Stronger(ReadPreference? a, ReadPreference? b) =>
        a is null ? b : b is null ? a : Rank(a.Value) <= Rank(b.Value) ? a : b;

    private static int Rank(ReadPreference preference) => preference switch
    {
        ReadPreference.Primary => 0,
        ReadPreference.PrimaryPreferred => 1,
        ReadPreference.ReplicaPreferred => 2,
        ReadPreference.Nearest => 3,
        _ => 4,
    };

    internal static ReadPreference? OfMember(MemberInfo member) =>
        member.GetCustomAttributes(inherit: true).OfType<IReadPreferenceSource>().FirstOrDefault()?.ReadPreference;
}
