using Karma.Data;
using Karma.Evaluation;
using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Evaluation;

/// <summary>No-data pixels must not move any metric (they are left out, and counted); the batch size must not either.</summary>
[Collection(SerialTorchCollection.Name)]
public class ReconstructionMetricsTests
{
    public ReconstructionMetricsTests() => TorchRuntime.EnsureLoaded();

    static readonly KarmaConfig Micro = TestConfigs.Micro with { Bands = 6 };

    static TileSet RandomTiles(int count, int seed, Func<int, bool>? invalidAt = null)
    {
        var random = new Random(seed);
        return new TileSet
        {
            Tiles = Enumerable.Range(0, count).Select(i => new TileSet.Tile("t", 0, 16 * i,
                Enumerable.Range(0, 6 * 16 * 16).Select(_ => (float)random.NextDouble() * 0.5f + 0.1f).ToArray(),
                invalidAt is null ? null : Enumerable.Range(0, 256).Select(invalidAt).ToArray())).ToList(),
            TileSize = 16, Bands = 6,
        };
    }

    [Fact]
    public void Metrics_do_not_depend_on_the_batch_size()
    {
        // The evaluation batch adapts to free memory, so the numbers must not change with it.
        manual_seed(0);
        using var model = new KarmaModel(Micro);
        var tiles = RandomTiles(7, 3);
        var whole = ReconstructionMetrics.Evaluate(model, tiles, maskSeed: 5, batchSize: 16);
        var pieces = ReconstructionMetrics.Evaluate(model, tiles, maskSeed: 5, batchSize: 3);
        Assert.Equal(whole.Psnr, pieces.Psnr, 5);   // float32 sums group differently; a different mask would move it by dB
        Assert.Equal(whole.Ssim, pieces.Ssim, 6);
        Assert.Equal(whole.SamDegrees, pieces.SamDegrees, 5);
        Assert.Equal(whole.PsnrPhys!.Value, pieces.PsnrPhys!.Value, 5);
    }

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
        using var model = new KarmaModel(Micro);
        TileSet With(Func<int, bool>? invalidAt) => RandomTiles(1, 2, invalidAt);

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
