using System.Text.Json;
using Karma.Evaluation;

namespace Karma.Tests.Evaluation;

public class ImageMetricsTests
{
    public static TheoryData<int> Pairs() => [0, 1, 2];

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Agrees_with_scikit_image(int pair)
    {
        var json = JsonDocument.Parse(File.ReadAllText(Shared.Require("reference/reference.json")));
        var expected = json.RootElement.GetProperty("imageMetrics")[pair];
        string dir = Path.GetDirectoryName(Shared.Require("reference/reference.json"))!;
        var m = ImageMetrics.Compute(Path.Combine(dir, expected.GetProperty("reference").GetString()!),
                                     Path.Combine(dir, expected.GetProperty("estimate").GetString()!), expected.GetProperty("dataRange").GetDouble());
        Assert.Equal(expected.GetProperty("psnr").GetDouble(), m.Psnr, 1e-4);
        Assert.Equal(expected.GetProperty("rmse").GetDouble(), m.Rmse, 1e-6);
        Assert.Equal(expected.GetProperty("ssim").GetDouble(), m.Ssim, 1e-5);
        Assert.Equal(expected.GetProperty("ssimPerBand").EnumerateArray().Select(v => v.GetDouble()), m.SsimPerBand, (a, b) => Math.Abs(a - b) < 1e-5);
        Assert.Equal(expected.GetProperty("samDegreesMean").GetDouble(), m.SamDegrees, 1e-4);
    }

    [Fact]
    public void SSIM_is_one_for_identical_images_and_never_above_one()
    {
        var random = new Random(5);
        var a = Enumerable.Range(0, 20 * 23).Select(_ => (float)random.NextDouble()).ToArray();
        Assert.Equal(1.0, StructuralSimilarity.Compute(a, a, 20, 23), 12);
        for (int trial = 0; trial < 20; trial++)
        {
            var b = a.Select(v => v + (float)(random.NextDouble() - 0.5) * trial * 0.05f).ToArray();
            double s = StructuralSimilarity.Compute(a, b, 20, 23);
            Assert.InRange(s, -1, 1);
        }
        // Anti-correlated images score below zero.
        Assert.True(StructuralSimilarity.Compute(a, a.Select(v => 1 - v).ToArray(), 20, 23) < 0);
        Assert.ThrowsAny<KarmaException>(() => StructuralSimilarity.Compute(a, a, 10, 46));
    }

    [Fact]
    public void SAM_ignores_brightness_and_PSNR_follows_its_definition()
    {
        const int bands = 3, rows = 12, cols = 12;
        var random = new Random(1);
        var a = Enumerable.Range(0, bands * rows * cols).Select(_ => 0.1f + (float)random.NextDouble() * 0.5f).ToArray();
        var scaled = a.Select(v => v * 1.7f).ToArray();
        Assert.Equal(0, ImageMetrics.Compute(a, scaled, bands, rows, cols).SamDegrees, 2);
        var shifted = a.Select(v => v + 0.01f).ToArray();
        var m = ImageMetrics.Compute(a, shifted, bands, rows, cols);
        Assert.Equal(0.01, m.Rmse, 5);
        Assert.Equal(40, m.Psnr, 3); // 10·log10(1 / 0.01²)
    }
}
