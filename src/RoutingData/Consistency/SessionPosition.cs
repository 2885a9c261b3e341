using RoutingData.Topology;

namespace RoutingData.Consistency;

/// <summary>What a session asks of the host serving its next read.</summary>
/// <param name="MinLsn">The WAL position the host must have replayed; <see cref="ulong.MaxValue"/>: only the primary will do (a position
/// not captured yet, or one on a timeline no replica here can be shown to have).</param>
/// <param name="OnlyReplica">The replica the session last read from, not yet covered by a later reading: the only replica allowed.</param>
/// <param name="PendingSince">When <see cref="MinLsn"/> is <see cref="ulong.MaxValue"/>: the acknowledgement a capture must start after.</param>
/// <param name="PrimaryReaderOpen">Whether <see cref="MinLsn"/> is <see cref="ulong.MaxValue"/> because a reader of the session's command
/// on the primary is still open (its position is known only once it closes).</param>
internal readonly record struct SessionPosition(ulong MinLsn, HostRuntime? OnlyReplica, long PendingSince, bool PrimaryReaderOpen = false);
