namespace RoutingData;

/// <summary>Where a routed command ran and why; read it from <see cref="RoutedCommand.LastRoute"/> after executing.</summary>
/// <param name="Host">The host that served the command, as <c>host:port</c>.</param>
/// <param name="Role">The host's role when the command was routed.</param>
/// <param name="Reason">Why the command went there.</param>
/// <param name="Detail">What the classifier saw, e.g. <c>SELECT</c> or <c>function nextval</c>.</param>
public readonly record struct RouteInfo(string Host, HostRole Role, RoutingReason Reason, string Detail)
{
    /// <summary>Gets a value indicating whether the command failed there (the error was passed to the caller).</summary>
    public bool Failed { get; init; }

    /// <inheritdoc />
    public override string ToString() => Failed ? $"{Role} {Host} ({Reason}: {Detail}; failed)" : $"{Role} {Host} ({Reason}: {Detail})";
}
