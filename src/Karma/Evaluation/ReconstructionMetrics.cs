using Karma.Data;
using Karma.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Karma.Evaluation;

/// <summary>Quality of whole reconstructed tiles, every patch predicted by the model (visible ones included).</summary>
public sealed record TileMetrics(double Psnr, double Ssim, double SamDegrees, double Rmse);

/// <summary>
/// How well a model reconstructs held-out tiles under a fixed masking seed, in reflectance (data range 1):
/// <list type="bullet">
/// <item><c>Psnr</c> = 10·log10(1 / MSE) and <c>Rmse</c> over the values of masked patches only;</item>
/// <item><c>SamDegrees</c>: mean spectral angle over the pixels of masked patches;</item>
/// <item><c>Ssim</c>: mean over tiles and bands of scikit-image-compatible SSIM (<see cref="StructuralSimilarity"/>) of the
///   reconstructed tile, visible patches from the input and masked ones predicted (the image an MAE shows);</item>
/// <item><c>PsnrPhys</c>/<c>SamPhysDegrees</c>: the same for the physics branch's A·â, masked patches;</item>
/// <item><c>Full</c>: PSNR, SSIM, SAM and RMSE of the model's prediction for every patch of the tile.</item>
/// </list>
/// No-data pixels (non-finite, flagged or no-data value in the scene, see <see cref="TileSet.Tile.Invalid"/>) are
/// left out of every number: they count in no error, angle or SSIM window. <c>ExcludedPixels</c> says how many.
/// </summary>
public sealed record ReconstructionMetrics(double Psnr, double Ssim, double SamDegrees, double Rmse, double? PsnrPhys, double? SamPhysDegrees,
                                           TileMetrics Full, int Tiles, int MaskSeed, long ExcludedPixels = 0)
{
    /// <summary>Evaluates <paramref name="model"/> on every tile in batches, masks drawn from <paramref name="maskSeed"/>.</summary>
    public static ReconstructionMetrics Evaluate(KarmaModel model, TileSet tiles, int maskSeed = 0, int batchSize = 16, double? maskRatio = null) =>
        Evaluate(model, [tiles], maskSeed, batchSize, maskRatio);

    /// <summary>
    /// Evaluates <paramref name="model"/> on tiles of several band sets (one <see cref="TileSet"/> each, as a wavelength-aware
    /// model reads several sensors), group after group with one mask generator, every number pooled over all of them: errors
    /// per value, angles per pixel, SSIM per band image. Masks hide the model's own ratio of patches unless
    /// <paramref name="maskRatio"/> says otherwise: models trained at different ratios are compared on the same masks.
    /// </summary>
    public static ReconstructionMetrics Evaluate(KarmaModel model, IReadOnlyList<TileSet> groups, int maskSeed = 0, int batchSize = 16, double? maskRatio = null)
    {
        model.eval();
        var scoring = maskRatio is { } r ? (model.Config with { MaskRatio = r }).Validate() : model.Config;
        return Evaluate(scoring, (images, bands, masking) =>
        {
            // Tensors made here belong to the caller's per-batch dispose scope (KarmaOutput's lazy A·â would not).
            var output = model.call(images, bands, masking);
            var physics = output.Abundances is { } a && output.Endmembers is { } e ? LinearMixingBranch.Mix(a, e, model.Config.PatchSize * model.Config.PatchSize) : null;
            return (output.Reconstruction, physics);
        }, groups, model.Physics is not null, maskSeed, MemoryEstimate.InferenceBatch(model.Config, model.ParameterCount, batchSize), model.Device);
    }

    /// <summary>
    /// What a method predicts for a batch: [B, bands, T, T] tiles with their band description and masking → the
    /// reconstruction of every patch and, for methods with one, the physics branch's, in token layout [B, N, P²·bands].
    /// </summary>
    public delegate (Tensor Reconstruction, Tensor? Physics) Reconstructor(Tensor images, Data.SpectralBands? bands, TokenMasking masking);

    /// <summary>
    /// Evaluates any <paramref name="reconstruct"/> (a model, or a non-learned baseline) on the same tiles with the same masks a
    /// model of configuration <paramref name="cfg"/> would get: masks drawn from <paramref name="maskSeed"/> with its ratio, tile
    /// and patch size. Every number is computed as for a model.
    /// </summary>
    public static ReconstructionMetrics Evaluate(KarmaConfig cfg, Reconstructor reconstruct, IReadOnlyList<TileSet> groups, bool physics,
                                                 int maskSeed = 0, int batchSize = 16, Device? device = null)
    {
        if (groups.Sum(g => g.Tiles.Count) == 0) throw new KarmaException("No evaluation tiles.");
        device ??= CPU;
        using var _ = no_grad();
        using var generator = new Generator((ulong)maskSeed);
        int t = cfg.TileSize, pixels = t * t;
        double se = 0, sePhys = 0, angle = 0, anglePhys = 0, maskedPixels = 0, validPixels = 0, maskedValues = 0, validValues = 0;
        double seFull = 0, angleFull = 0, ssim = 0, ssimFull = 0, bandImages = 0, bandImagesFull = 0;
        long excluded = 0;
        foreach (var tiles in groups)
        {
            int bands = tiles.Bands;
            for (int start = 0; start < tiles.Tiles.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var idx = Enumerable.Range(start, Math.Min(batchSize, tiles.Tiles.Count - start)).ToArray();
                var images = TileBatch.Batch(tiles, idx).to(device);
                var masking = TokenMasking.Sample(idx.Length, cfg.Tokens, cfg.VisibleTokens, generator, device);
                var (reconstruction, physicsReconstruction) = reconstruct(images, tiles.Spectral, masking);
                var target = Patches.Patchify(images, cfg.PatchSize);
                var masked = masking.Mask.unsqueeze(-1);                  // [B, N, 1]
                var valid = TileBatch.ValidPixels(tiles, idx) is { } v                                  // [B, N, P²]
                    ? Patches.Patchify(v.to(device), cfg.PatchSize)
                    : ones(idx.Length, cfg.Tokens, cfg.PatchSize * cfg.PatchSize, device: device);
                var weight = valid * masked;
                double maskedHere = weight.sum(type: ScalarType.Float64).item<double>(), validHere = valid.sum(type: ScalarType.Float64).item<double>();
                maskedPixels += maskedHere;
                validPixels += validHere;
                maskedValues += maskedHere * bands;
                validValues += validHere * bands;
                se += SquaredError(reconstruction, target, weight, bands);
                angle += PixelAngles(reconstruction, target, weight, cfg, bands);
                seFull += SquaredError(reconstruction, target, valid, bands);
                angleFull += PixelAngles(reconstruction, target, valid, cfg, bands);
                if (physicsReconstruction is { } phys)
                {
                    sePhys += SquaredError(phys, target, weight, bands);
                    anglePhys += PixelAngles(phys, target, weight, cfg, bands);
                }
                var input = images.cpu().data<float>().ToArray();
                var composite = Patches.Unpatchify(where(masked.to_type(ScalarType.Bool), reconstruction, target), cfg.PatchSize, bands).cpu().contiguous().data<float>().ToArray();
                var full = Patches.Unpatchify(reconstruction, cfg.PatchSize, bands).cpu().contiguous().data<float>().ToArray();
                for (int i = 0; i < idx.Length; i++)
                {
                    var invalid = tiles.Tiles[idx[i]].Invalid;
                    excluded += invalid?.Count(x => x) ?? 0;
                    for (int b = 0; b < bands; b++)
                    {
                        int at = (i * bands + b) * pixels;
                        double s1 = StructuralSimilarity.Compute(input.AsSpan(at, pixels), composite.AsSpan(at, pixels), t, t, invalid);
                        double sf = StructuralSimilarity.Compute(input.AsSpan(at, pixels), full.AsSpan(at, pixels), t, t, invalid);
                        if (!double.IsNaN(s1)) { ssim += s1; bandImages++; }
                        if (!double.IsNaN(sf)) { ssimFull += sf; bandImagesFull++; }
                    }
                }
            }
        }
        if (maskedPixels == 0) throw new KarmaException("Every masked pixel of the evaluation tiles is no-data; there is nothing to score.");
        static double Psnr(double sse, double n) => 10 * Math.Log10(1.0 / (sse / n));
        const double Degrees = 180 / Math.PI;
        return new ReconstructionMetrics(Psnr(se, maskedValues), ssim / bandImages, angle / maskedPixels * Degrees, Math.Sqrt(se / maskedValues),
            physics ? Psnr(sePhys, maskedValues) : null, physics ? anglePhys / maskedPixels * Degrees : null,
            new TileMetrics(Psnr(seFull, validValues), ssimFull / bandImagesFull, angleFull / validPixels * Degrees, Math.Sqrt(seFull / validValues)),
            groups.Sum(g => g.Tiles.Count), maskSeed, excluded);
    }

    /// <summary>Sum of squared errors over the pixels <paramref name="weight"/> ([B, N, P²]) selects.</summary>
    static double SquaredError(Tensor estimate, Tensor target, Tensor weight, int bands)
    {
        long b = estimate.shape[0], n = estimate.shape[1];
        var perPixel = (estimate - target).square().view(b, n, -1, bands).sum(-1);
        return (perPixel * weight).sum(type: ScalarType.Float64).item<double>();
    }

    /// <summary>Sum of spectral angles (radians) over the pixels <paramref name="weight"/> ([B, N, P²]) selects.</summary>
    static double PixelAngles(Tensor estimate, Tensor target, Tensor weight, KarmaConfig cfg, int bands)
    {
        long b = estimate.shape[0], n = estimate.shape[1];
        int p = cfg.PatchSize * cfg.PatchSize;
        var angles = KarmaLoss.SpectralAngle(estimate.view(b, n, p, bands), target.view(b, n, p, bands)); // [B, N, P²]
        return (angles * weight).sum(type: ScalarType.Float64).item<double>();
    }
}
