using System.Diagnostics;

namespace RoutingData.Internal;

/// <summary>
/// ADO.NET's synchronous API runs the same code as the async one with <c>async: false</c>, so every awaited
/// operation completes synchronously (Npgsql's pattern). These unwrap the already-completed result.
/// </summary>
internal static class SyncPath
{
    public static T Result<T>(ValueTask<T> task)
    {
        Debug.Assert(task.IsCompleted, "The synchronous path must complete synchronously.");
        return task.IsCompleted ? task.Result : task.AsTask().GetAwaiter().GetResult();
    }

    public static void Wait(ValueTask task)
    {
        Debug.Assert(task.IsCompleted, "The synchronous path must complete synchronously.");
        if (task.IsCompleted)
        {
            task.GetAwaiter().GetResult();
        }
        else
        {
            task.AsTask().GetAwaiter().GetResult();
        }
    }
}
