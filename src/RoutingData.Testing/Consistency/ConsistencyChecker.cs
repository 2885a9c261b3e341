namespace RoutingData.Testing.Consistency;

/// <summary>
/// Checks a history for the session guarantees, per key: a read must not return a version older than one its
/// session already wrote (read-your-writes) or already read (monotonic reads). Operations of one session are
/// sequential, so program order is the session's history order.
/// </summary>
public static class ConsistencyChecker
{
    /// <summary>Checks the history.</summary>
    /// <param name="system">The system's name, for the report.</param>
    /// <param name="history">Every completed operation; each session's in program order.</param>
    /// <param name="errors">Operations that failed.</param>
    /// <param name="elapsed">How long the workload ran.</param>
    /// <returns>The counts.</returns>
    public static ConsistencyReport Check(string system, IReadOnlyList<HistoryEvent> history, int errors, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(history);
        var written = new Dictionary<(int Session, int Key), long>();
        var read = new Dictionary<(int Session, int Key), long>();
        int reads = 0, writes = 0, ryw = 0, monotonic = 0, replicaReads = 0;
        foreach (var e in history)
        {
            var slot = (e.Session, e.Key);
            if (e.IsWrite)
            {
                writes++;
                written[slot] = Math.Max(written.GetValueOrDefault(slot), e.Version);
                continue;
            }

            reads++;
            replicaReads += e.FromReplica ? 1 : 0;
            if (written.TryGetValue(slot, out var own) && e.Version < own)
            {
                ryw++;
            }
            else if (read.TryGetValue(slot, out var seen) && e.Version < seen)
            {
                monotonic++;
            }

            read[slot] = Math.Max(read.GetValueOrDefault(slot), e.Version);
        }

        return new ConsistencyReport(system, history.Count, reads, writes, ryw, monotonic, replicaReads, errors, elapsed);
    }
}
