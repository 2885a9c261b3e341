using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Update;

namespace RoutingData.EntityFrameworkCore.Internal;

/// <summary>Creates <see cref="RoutedModificationCommandBatch"/>es, with the provider's batch size.</summary>
internal sealed class RoutedModificationCommandBatchFactory(ModificationCommandBatchFactoryDependencies dependencies, IDbContextOptions options) : IModificationCommandBatchFactory
{
    private const int DefaultMaxBatchSize = 1000;

    private readonly int _maxBatchSize = RelationalOptionsExtension.Extract(options).MaxBatchSize ?? DefaultMaxBatchSize;

    public ModificationCommandBatch Create() => new RoutedModificationCommandBatch(dependencies, _maxBatchSize);
}
