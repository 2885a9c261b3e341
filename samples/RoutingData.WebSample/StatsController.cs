using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace RoutingData.WebSample;

/// <summary>Counts: from a replica (the controller's preference), the exact one from the primary (the action's).</summary>
[ApiController]
[Route("api/stats")]
[ReadPreference(ReadPreference.ReplicaPreferred)]
public sealed class StatsController(TodoContext db) : ControllerBase
{
    [HttpGet]
    public async Task<IActionResult> Get(CancellationToken cancellationToken)
    {
        var count = await db.Todos.CountAsync(cancellationToken);
        return Ok(new { count, servedBy = db.ServedBy() });
    }

    [HttpGet("exact")]
    [ReadFromPrimary]
    public async Task<IActionResult> Exact(CancellationToken cancellationToken)
    {
        var count = await db.Todos.CountAsync(cancellationToken);
        return Ok(new { count, servedBy = db.ServedBy() });
    }
}
