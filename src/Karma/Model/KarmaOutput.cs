using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// What one forward pass of <see cref="KarmaModel"/> produces, in token layout [B, N, P²·bands] (see <see cref="Patches"/>);
/// the physics branch's outputs hold N patches, or the S of <see cref="PhysicsTokens"/> when a training step sampled them.
/// Owns its tensors: dispose it, or let a dispose scope do so.
/// </summary>
public sealed class KarmaOutput : IDisposable
{
    /// <summary>Direct reconstruction r̂ of every patch (reflectance).</summary>
    public required Tensor Reconstruction { get; init; }
    /// <summary>Abundances [B, N or S, k, M] (k = P² per pixel, 1 per patch; S: see <see cref="PhysicsTokens"/>), or null without the branch.</summary>
    public Tensor? Abundances { get; init; }
    /// <summary>The endmember spectra A [bands, M] the abundances mix, or null without the branch.</summary>
    public Tensor? Endmembers { get; init; }

    /// <summary>
    /// The input in token layout [B, N, P²·bands] (<see cref="KarmaModel.Targets"/>) when the forward pass formed it (the
    /// physics branch's FCLS steps read the pixels); pass it as the loss's targets to save forming it again.
    /// </summary>
    public Tensor? Targets { get; init; }
    /// <summary>Aᵀy of every pixel of <see cref="Targets"/> the branch read, [B, N or S, P², M], which the physics term reuses when it is given those targets.</summary>
    public Tensor? TargetProjection { get; init; }

    /// <summary>
    /// Which patches the physics branch read, [B, S] token indices, when a training step gave it only a share of them
    /// (<see cref="KarmaConfig.PhysicsShare"/>): <see cref="Abundances"/>, <see cref="TargetProjection"/> and
    /// <see cref="PhysicsReconstruction"/> then hold those S patches in this order. Null: every patch, in order.
    /// </summary>
    public Tensor? PhysicsTokens { get; init; }

    Tensor? physicsReconstruction;

    /// <summary>
    /// Physics reconstruction A·â of every pixel the branch read, [B, N or S, P²·bands], formed on first use (training does not need it);
    /// null for variants without the branch.
    /// </summary>
    public Tensor? PhysicsReconstruction => physicsReconstruction ??= Abundances is null || Endmembers is null ? null
        : LinearMixingBranch.Mix(Abundances, Endmembers, (int)(Reconstruction.shape[2] / Endmembers.shape[0])).DetachFromDisposeScope();
    /// <summary>The masking used: which patches the encoder did not see.</summary>
    public required TokenMasking Masking { get; init; }

    /// <inheritdoc/>
    public void Dispose()
    {
        Reconstruction.Dispose();
        physicsReconstruction?.Dispose();
        Abundances?.Dispose();
        Endmembers?.Dispose();
        Targets?.Dispose();
        TargetProjection?.Dispose();
        PhysicsTokens?.Dispose();
        Masking.Shuffle.Dispose();
        Masking.Restore.Dispose();
        Masking.Mask.Dispose();
    }
}
