using System.Text.Json;
using Karma.Data;
using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Evaluation;

/// <summary>PSNR, RMSE and SAM as Karma computes them, against the values scikit-image and numpy computed for the same files.</summary>
public class SpectralAngleReferenceTests
{
    public SpectralAngleReferenceTests() => TorchRuntime.EnsureLoaded();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Psnr_rmse_and_sam_match_the_reference(int index)
    {
        var json = JsonDocument.Parse(File.ReadAllText(Shared.Require("reference/reference.json")));
        var r = json.RootElement.GetProperty("imageMetrics")[index];
        float[] Read(string name)
        {
            using var s = HyperspectralScene.Open(Shared.Require("reference/" + name));
            var v = new float[s.Bands * s.Lines * s.Samples];
            s.ReadWindow(0, 0, s.Lines, s.Samples, [], v);
            return v;
        }
        using var scene = HyperspectralScene.Open(Shared.Require("reference/" + r.GetProperty("reference").GetString()));
        var reference = tensor(Read(r.GetProperty("reference").GetString()!), scene.Bands, scene.Lines * scene.Samples).to(float64);
        var estimate = tensor(Read(r.GetProperty("estimate").GetString()!), scene.Bands, scene.Lines * scene.Samples).to(float64);
        double mse = (reference - estimate).square().mean().item<double>();
        Assert.Equal(r.GetProperty("rmse").GetDouble(), Math.Sqrt(mse), 6);
        Assert.Equal(r.GetProperty("psnr").GetDouble(), 10 * Math.Log10(1 / mse), 4);
        var sam = KarmaLoss.SpectralAngle(reference.t(), estimate.t()).mean().item<double>() * 180 / Math.PI;
        Assert.Equal(r.GetProperty("samDegreesMean").GetDouble(), sam, 4);
    }
}
