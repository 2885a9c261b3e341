using Npgsql;

namespace RoutingData.Consistency;

/// <summary>
/// Npgsql 10 cannot execute an <see cref="NpgsqlBatchCommand"/> with named parameters (<c>@name</c>) a second time
/// ("Missing type info or binding info"): the rewrite to positional parameters is not redone. A routed command may
/// run twice (a retry, a stale replica) or be re-executed by the user, so such a command is replaced by a fresh one
/// holding the same parameter objects — user references to the parameters stay valid.
/// </summary>
internal static class BatchCommandRenewal
{
    public static bool NeedsRenewal(NpgsqlBatchCommand command)
    {
        // Indexed: foreach over the collection would box its enumerator on every execution.
        var parameters = command.Parameters;
        for (var i = 0; i < parameters.Count; i++)
        {
            if (!string.IsNullOrEmpty(parameters[i].ParameterName))
            {
                return true;
            }
        }

        return false;
    }

    public static NpgsqlBatchCommand Renew(NpgsqlBatchCommand command)
    {
        var fresh = new NpgsqlBatchCommand(command.CommandText) { CommandType = command.CommandType, AppendErrorBarrier = command.AppendErrorBarrier };
        var parameters = new NpgsqlParameter[command.Parameters.Count];
        command.Parameters.CopyTo(parameters, 0);
        command.Parameters.Clear();
        foreach (var parameter in parameters)
        {
            fresh.Parameters.Add(parameter);
        }

        return fresh;
    }
}
