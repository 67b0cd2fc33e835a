using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// What one forward pass of <see cref="KarmaModel"/> produces, all in token layout [B, N, P²·bands]
/// (see <see cref="Patches"/>). Owns its tensors: dispose it, or let a dispose scope do so.
/// </summary>
public sealed class KarmaOutput : IDisposable
{
    /// <summary>Direct reconstruction r̂ of every patch (reflectance).</summary>
    public required Tensor Reconstruction { get; init; }
    /// <summary>Physics reconstruction A·â of every pixel, or null for variants without the branch.</summary>
    public Tensor? PhysicsReconstruction { get; init; }
    /// <summary>Abundances [B, N, k, M] (k = P² per pixel, 1 per patch), or null without the branch.</summary>
    public Tensor? Abundances { get; init; }
    /// <summary>The masking used: which patches the encoder did not see.</summary>
    public required TokenMasking Masking { get; init; }

    /// <inheritdoc/>
    public void Dispose()
    {
        Reconstruction.Dispose();
        PhysicsReconstruction?.Dispose();
        Abundances?.Dispose();
        Masking.Shuffle.Dispose();
        Masking.Restore.Dispose();
        Masking.Mask.Dispose();
    }
}
