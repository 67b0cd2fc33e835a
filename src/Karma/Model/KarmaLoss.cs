using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>The loss terms of one step, each already weighted into <see cref="Total"/>; unweighted values are kept for logging.</summary>
public sealed record LossTerms(Tensor Total, Tensor Huber, Tensor? SpectralAngle, Tensor? Physics, Tensor? CrossConsistency) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose()
    {
        Total.Dispose(); Huber.Dispose(); SpectralAngle?.Dispose(); Physics?.Dispose(); CrossConsistency?.Dispose();
    }
}

/// <summary>
/// KARMA's training objective, L = λ1·Huber + λ2·SAM + λ3·physics (+ λ4·‖r̂_phys − r̂‖²), each term a separate
/// function so it can be tested and reused by metrics. The pixel terms are averaged over masked patches by
/// default (the MAE convention: visible patches are trivially copied) or over all patches; the physics term
/// over all patches by default (<see cref="KarmaConfig.PhysicsOnAllPatches"/>), or over the share of them the branch
/// read (<see cref="KarmaOutput.PhysicsTokens"/>).
/// </summary>
public static class KarmaLoss
{
    /// <summary>Element-wise Huber loss: ½d² where |d| &lt; δ, else δ(|d| − ½δ).</summary>
    public static Tensor Huber(Tensor prediction, Tensor target, double delta) =>
        nn.functional.huber_loss(prediction, target, delta, nn.Reduction.None);

    /// <summary>
    /// The spectral angle as the training loss computes it, from the cosine c of each pixel's spectra
    /// (<see cref="PixelLoss"/> computes the same per pixel from three dot products, a·b, ‖a‖², ‖b‖², in the pass of the
    /// Huber loss; this is its form for other devices and types):
    /// 2·atan2(√(2 − 2c + ε), √(2 + 2c + ε)), the same expression as <see cref="SpectralAngle"/> since ‖â ∓ b̂‖² = 2 ∓ 2c.
    /// It differs only by float32 rounding of c (hundredths of a degree near 0), which a loss does not feel but a metric
    /// would, so metrics use <see cref="SpectralAngle"/>. Gradients stay finite for identical and for zero spectra.
    /// </summary>
    public static Tensor AngleFromCosine(Tensor cosine)
    {
        const double eps = 1e-12;
        using var scope = NewDisposeScope();
        var c = cosine.clamp(-1, 1);
        return (2 * atan2((2 - 2 * c + eps).sqrt(), (2 + 2 * c + eps).sqrt())).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Spectral angle in radians between spectra along the last dimension. Computed as
    /// 2·atan2(‖â − b̂‖, ‖â + b̂‖) on unit vectors, which is accurate near 0 and π and, unlike acos of the
    /// cosine, has a finite gradient when the spectra are identical. A small ε inside the norms keeps
    /// gradients finite at zero-norm spectra too; the angle to a zero spectrum is 90°.
    /// </summary>
    public static Tensor SpectralAngle(Tensor a, Tensor b)
    {
        const double eps = 1e-12;
        using var scope = NewDisposeScope();
        var ua = a / (a.square().sum(-1, keepdim: true) + eps).sqrt();
        var ub = b / (b.square().sum(-1, keepdim: true) + eps).sqrt();
        var diff = ((ua - ub).square().sum(-1) + eps).sqrt();
        var sum = ((ua + ub).square().sum(-1) + eps).sqrt();
        return (2 * atan2(diff, sum)).MoveToOuterDisposeScope();
    }

    /// <summary>Element-wise squared error between the physics reconstruction and the target.</summary>
    public static Tensor PhysicsConsistency(Tensor physics, Tensor target) => (physics - target).square();

    /// <summary>
    /// Computes every term the configuration asks for from a forward pass and the tiles' tokens. When
    /// <paramref name="validPixels"/> ([B, N, P²], 1 = valid) is given, no-data pixels are left out of every term,
    /// and a patch with no valid pixel counts for nothing. The physics and cross-consistency terms average over the
    /// patches the branch read: all of them, or those of <see cref="KarmaOutput.PhysicsTokens"/>. <paramref name="physicsScale"/>
    /// multiplies their weights in <see cref="LossTerms.Total"/> (k on the steps <see cref="KarmaConfig.PhysicsEvery"/> = k runs the
    /// branch in); the terms themselves are reported unscaled.
    /// </summary>
    public static LossTerms Compute(KarmaOutput output, Tensor targetTokens, KarmaConfig config, Tensor? validPixels = null, double physicsScale = 1)
    {
        using var scope = NewDisposeScope();
        long b = targetTokens.shape[0], n = targetTokens.shape[1];
        int pixels = config.PatchSize * config.PatchSize;
        long bands = targetTokens.shape[2] / pixels;
        var weights = config.LossOnMaskedOnly ? output.Masking.Mask : ones_like(output.Masking.Mask);
        // Per-pixel values [B, K, P²] → per-token means over valid pixels → mean over weighted tokens ([B, K]; K = N, or
        // the S patches the physics branch read).
        Tensor Average(Tensor t, Tensor w, Tensor? valid)
        {
            long k = w.shape[1];
            if (valid is null) return (t.view(b, k, -1).mean([-1L]) * w).sum() / w.sum().clamp_min(1);
            var perPixel = t.view(b, k, pixels, -1).mean([-1L]);
            var count = valid.sum(-1);
            var perToken = (perPixel * valid).sum(-1) / count.clamp_min(1);
            var tokenWeights = w * (count > 0).to_type(w.dtype);
            return (perToken * tokenWeights).sum() / tokenWeights.sum().clamp_min(1);
        }
        Tensor PerToken(Tensor t) => Average(t, weights, validPixels);
        Tensor Pixels(Tensor t) => t.view(b, n, pixels, bands);

        var pixelTerms = PixelLoss.Of(Pixels(output.Reconstruction), Pixels(targetTokens), config.HuberDelta);
        var huber = PerToken(pixelTerms.Huber);
        var total = config.HuberWeight * huber;
        Tensor? sam = null, physics = null, cross = null;
        if (config.UsesSam)
        {
            sam = PerToken(pixelTerms.Angle);
            total = total + config.SamWeight * sam;
        }
        if (output.Abundances is { } abundances && output.Endmembers is { } endmembers)
        {
            // The patches the branch read: all of them, or each tile's sampled share ([B, S]) and everything per patch taken there.
            Tensor Read(Tensor t) => output.PhysicsTokens is { } tokens ? TokenMasking.Take(t, tokens) : t;
            var readWeights = Read(weights);
            var readValid = validPixels is null ? null : Read(validPixels);
            // Aᵀy from the forward pass when these targets are the ones it projected (the model's own input).
            var projection = ReferenceEquals(targetTokens, output.Targets) ? output.TargetProjection : null;
            var error = LinearMixingBranch.MeanSquaredError(abundances, endmembers, projection is null ? Read(Pixels(targetTokens)) : null,
                                                            Read(pixelTerms.TargetEnergy), projection);   // [B, N or S, P²]
            physics = Average(error, config.PhysicsOnAllPatches ? ones_like(readWeights) : readWeights, readValid);
            total = total + physicsScale * config.PhysicsWeight * physics;
            if (config.CrossConsistencyWeight > 0)
            {
                cross = Average(PhysicsConsistency(output.PhysicsReconstruction!, Read(output.Reconstruction.detach())), readWeights, readValid);
                total = total + physicsScale * config.CrossConsistencyWeight * cross;
            }
        }
        var terms = new LossTerms(total, huber, sam, physics, cross);
        foreach (var t in new[] { total, huber, sam, physics, cross }) t?.MoveToOuterDisposeScope();
        return terms;
    }
}
