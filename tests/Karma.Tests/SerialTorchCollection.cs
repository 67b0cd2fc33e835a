namespace Karma.Tests;

/// <summary>
/// Tests that compare two seeded runs: libtorch's weight initialisation draws from one process-wide
/// generator, so these must not run while other test classes draw from it in parallel.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTorchCollection
{
    public const string Name = "serial torch";
}
