using Npgsql;

namespace RoutingData.Routing;

/// <summary>Errors by which a hot standby refuses a statement before running anything of it.</summary>
internal static class StandbyRefusal
{
    /// <summary>
    /// Whether <paramref name="error"/> is a standby refusing the statement: 25006 (a write), or another code whose message
    /// says recovery forbids it (XX000 "cannot assign OIDs during recovery", 0A000 "cannot access temporary or unlogged
    /// relations during recovery", "logical decoding cannot be used while in recovery"). <paramref name="wrote"/> is false
    /// only for reads a standby cannot serve (unlogged or temporary relations): those need the primary but are no writes.
    /// </summary>
    public static bool Is(PostgresException error, out bool wrote)
    {
        wrote = true;
        if (error.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction)
        {
            return true;
        }

        if (error.SqlState is not (PostgresErrorCodes.InternalError or PostgresErrorCodes.FeatureNotSupported or PostgresErrorCodes.ObjectNotInPrerequisiteState)
            || !error.MessageText.Contains("recovery", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        wrote = !error.MessageText.Contains("unlogged", StringComparison.OrdinalIgnoreCase);
        return true;
    }
}
