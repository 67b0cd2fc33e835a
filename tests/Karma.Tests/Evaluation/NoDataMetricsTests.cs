using Karma.Data;
using Karma.Evaluation;
using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Evaluation;

/// <summary>No-data pixels must not move any metric: they are left out, and counted.</summary>
[Collection(SerialTorchCollection.Name)]
public class NoDataMetricsTests
{
    public NoDataMetricsTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void SSIM_ignores_whatever_lies_at_invalid_pixels()
    {
        const int n = 24;
        var random = new Random(1);
        var reference = Enumerable.Range(0, n * n).Select(_ => (float)random.NextDouble()).ToArray();
        var estimate = reference.Select(v => v + 0.1f * (float)random.NextDouble()).ToArray();
        var invalid = new bool[n * n];
        for (int r = 3; r < 7; r++) for (int c = 2; c < 9; c++) invalid[r * n + c] = true;

        var other = (float[])estimate.Clone();
        for (int p = 0; p < n * n; p++) if (invalid[p]) other[p] = 50f;
        double masked = StructuralSimilarity.Compute(reference, estimate, n, n, invalid);
        Assert.Equal(masked, StructuralSimilarity.Compute(reference, other, n, n, invalid), 12);
        Assert.NotEqual(StructuralSimilarity.Compute(reference, estimate, n, n), StructuralSimilarity.Compute(reference, other, n, n));
        Assert.Equal(StructuralSimilarity.Compute(reference, estimate, n, n), StructuralSimilarity.Compute(reference, estimate, n, n, new bool[n * n]), 12);
        Assert.True(double.IsNaN(StructuralSimilarity.Compute(reference, estimate, n, n, Enumerable.Repeat(true, n * n).ToArray())));
    }

    [Fact]
    public void Reconstruction_errors_add_up_over_disjoint_valid_regions_and_count_the_rest()
    {
        // Same pixels, same masks, so the model predicts the same values; only which pixels count changes.
        // Full-tile squared error and angle are sums over valid pixels, so marking the left half invalid and
        // then the right half must split the all-valid totals exactly.
        set_num_threads(1);
        manual_seed(0);
        var cfg = KarmaConfig.Tiny with { TileSize = 16, PatchSize = 4, EncoderDim = 32, EncoderDepth = 1, EncoderHeads = 4,
                                          DecoderDim = 32, DecoderDepth = 1, DecoderHeads = 4, Endmembers = 3, Bands = 6 };
        using var model = new KarmaModel(cfg);
        var random = new Random(2);
        var values = Enumerable.Range(0, 6 * 16 * 16).Select(_ => (float)random.NextDouble() * 0.5f + 0.1f).ToArray();
        TileSet With(Func<int, bool>? invalidAt) =>
            new()
            {
                Tiles = [new TileSet.Tile("t", 0, 0, values, invalidAt is null ? null : Enumerable.Range(0, 256).Select(invalidAt).ToArray())],
                TileSize = 16, Bands = 6,
            };

        var all = ReconstructionMetrics.Evaluate(model, With(null));
        var right = ReconstructionMetrics.Evaluate(model, With(p => p % 16 < 8));   // left half no-data
        var left = ReconstructionMetrics.Evaluate(model, With(p => p % 16 >= 8));
        Assert.Equal(0, all.ExcludedPixels);
        Assert.Equal(128, right.ExcludedPixels);
        static double Sse(TileMetrics m, int pixels) => m.Rmse * m.Rmse * pixels * 6;
        Assert.Equal(Sse(all.Full, 256), Sse(left.Full, 128) + Sse(right.Full, 128), 6);
        Assert.Equal(all.Full.SamDegrees * 256, left.Full.SamDegrees * 128 + right.Full.SamDegrees * 128, 6);
        Assert.NotEqual(all.Full.Rmse, left.Full.Rmse);
    }
}
