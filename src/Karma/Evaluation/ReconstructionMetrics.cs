using Karma.Data;
using Karma.Model;
using Karma.Training;
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
/// </summary>
public sealed record ReconstructionMetrics(double Psnr, double Ssim, double SamDegrees, double Rmse, double? PsnrPhys, double? SamPhysDegrees,
                                           TileMetrics Full, int Tiles, int MaskSeed)
{
    /// <summary>Evaluates <paramref name="model"/> on every tile in batches, masks drawn from <paramref name="maskSeed"/>.</summary>
    public static ReconstructionMetrics Evaluate(KarmaModel model, TileSet tiles, int maskSeed = 0, int batchSize = 16)
    {
        if (tiles.Tiles.Count == 0) throw new KarmaException("No evaluation tiles.");
        model.eval();
        using var _ = no_grad();
        using var generator = new Generator((ulong)maskSeed);
        var cfg = model.Config;
        int t = cfg.TileSize, pixels = t * t;
        double se = 0, sePhys = 0, angle = 0, anglePhys = 0, values = 0, maskedPixels = 0;
        double seFull = 0, angleFull = 0, ssim = 0, ssimFull = 0;
        for (int start = 0; start < tiles.Tiles.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var idx = Enumerable.Range(start, Math.Min(batchSize, tiles.Tiles.Count - start)).ToArray();
            var images = Pretrainer.Batch(tiles, idx);
            using var output = model.call(images, model.SampleMasking(idx.Length, generator));
            var target = model.Targets(images);
            var masked = output.Masking.Mask.unsqueeze(-1);           // [B, N, 1]
            double maskedTokens = masked.sum().item<float>();
            values += maskedTokens * cfg.PatchValues;
            maskedPixels += maskedTokens * cfg.PatchSize * cfg.PatchSize;
            se += ((output.Reconstruction - target).square() * masked).sum(type: ScalarType.Float64).item<double>();
            angle += PixelAngles(output.Reconstruction, target, masked, cfg);
            seFull += (output.Reconstruction - target).square().sum(type: ScalarType.Float64).item<double>();
            angleFull += PixelAngles(output.Reconstruction, target, ones_like(masked), cfg);
            if (output.PhysicsReconstruction is { } phys)
            {
                sePhys += ((phys - target).square() * masked).sum(type: ScalarType.Float64).item<double>();
                anglePhys += PixelAngles(phys, target, masked, cfg);
            }
            var input = images.data<float>().ToArray();
            var composite = Patches.Unpatchify(where(masked.to_type(ScalarType.Bool), output.Reconstruction, target), cfg.PatchSize, cfg.Bands).contiguous().data<float>().ToArray();
            var full = Patches.Unpatchify(output.Reconstruction, cfg.PatchSize, cfg.Bands).contiguous().data<float>().ToArray();
            for (int i = 0; i < idx.Length; i++)
                for (int b = 0; b < cfg.Bands; b++)
                {
                    int at = (i * cfg.Bands + b) * pixels;
                    ssim += StructuralSimilarity.Compute(input.AsSpan(at, pixels), composite.AsSpan(at, pixels), t, t);
                    ssimFull += StructuralSimilarity.Compute(input.AsSpan(at, pixels), full.AsSpan(at, pixels), t, t);
                }
        }
        static double Psnr(double sse, double n) => 10 * Math.Log10(1.0 / (sse / n));
        const double Degrees = 180 / Math.PI;
        double n = tiles.Tiles.Count, allValues = n * cfg.Bands * pixels, bandImages = n * cfg.Bands;
        bool physics = model.Physics is not null;
        return new ReconstructionMetrics(Psnr(se, values), ssim / bandImages, angle / maskedPixels * Degrees, Math.Sqrt(se / values),
            physics ? Psnr(sePhys, values) : null, physics ? anglePhys / maskedPixels * Degrees : null,
            new TileMetrics(Psnr(seFull, allValues), ssimFull / bandImages, angleFull / (n * pixels) * Degrees, Math.Sqrt(seFull / allValues)),
            tiles.Tiles.Count, maskSeed);
    }

    static double PixelAngles(Tensor estimate, Tensor target, Tensor masked, KarmaConfig cfg)
    {
        long b = estimate.shape[0], n = estimate.shape[1];
        int p = cfg.PatchSize * cfg.PatchSize;
        var angles = KarmaLoss.SpectralAngle(estimate.view(b, n, p, cfg.Bands), target.view(b, n, p, cfg.Bands)); // [B, N, P²]
        return (angles * masked).sum(type: ScalarType.Float64).item<double>();
    }
}
