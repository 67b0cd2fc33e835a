using Karma.Data;
using Karma.Model;
using Karma.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Karma.Evaluation;

/// <summary>
/// Reconstruction quality of held-out tiles under a fixed masking seed, over masked patches:
/// PSNR in dB with data range 1 (reflectance), 10·log10(1/MSE); RMSE; and mean spectral angle in degrees
/// over pixels. For models with the physics branch, the same for A·â (<c>PsnrPhys</c>, <c>SamPhys</c>).
/// </summary>
public sealed record ReconstructionMetrics(double Psnr, double Rmse, double SamDegrees, double? PsnrPhys, double? SamPhysDegrees, int Tiles)
{
    /// <summary>Evaluates <paramref name="model"/> on every tile in batches, masks drawn from <paramref name="maskSeed"/>.</summary>
    public static ReconstructionMetrics Evaluate(KarmaModel model, TileSet tiles, int maskSeed = 0, int batchSize = 16)
    {
        if (tiles.Tiles.Count == 0) throw new KarmaException("No evaluation tiles.");
        model.eval();
        using var _ = no_grad();
        using var generator = new Generator((ulong)maskSeed);
        double se = 0, sePhys = 0, angle = 0, anglePhys = 0, values = 0, pixels = 0;
        var cfg = model.Config;
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
            pixels += maskedTokens * cfg.PatchSize * cfg.PatchSize;
            se += ((output.Reconstruction - target).square() * masked).sum(type: ScalarType.Float64).item<double>();
            angle += PixelAngles(output.Reconstruction, target, masked, cfg);
            if (output.PhysicsReconstruction is { } phys)
            {
                sePhys += ((phys - target).square() * masked).sum(type: ScalarType.Float64).item<double>();
                anglePhys += PixelAngles(phys, target, masked, cfg);
            }
        }
        double Psnr(double sse) => 10 * Math.Log10(1.0 / (sse / values));
        bool physics = model.Physics is not null;
        return new ReconstructionMetrics(Psnr(se), Math.Sqrt(se / values), angle / pixels * 180 / Math.PI,
            physics ? Psnr(sePhys) : null, physics ? anglePhys / pixels * 180 / Math.PI : null, tiles.Tiles.Count);
    }

    static double PixelAngles(Tensor estimate, Tensor target, Tensor masked, KarmaConfig cfg)
    {
        long b = estimate.shape[0], n = estimate.shape[1];
        int p = cfg.PatchSize * cfg.PatchSize;
        var angles = KarmaLoss.SpectralAngle(estimate.view(b, n, p, cfg.Bands), target.view(b, n, p, cfg.Bands)); // [B, N, P²]
        return (angles * masked).sum().item<float>();
    }
}
