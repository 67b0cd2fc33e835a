using Karma.Data;
using Karma.Model;
using Karma.Runtime;
using Karma.Unmixing;
using static TorchSharp.torch;

namespace Karma.Tests.Unmixing;

public class AbundanceRefinementTests
{
    public AbundanceRefinementTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void With_refinement_the_models_abundances_are_FCLS_with_its_own_endmembers()
    {
        using var dir = new TempDir();
        using var scene = dir.Simulate(size: 32, bands: 20, seed: 6, endmembers: 3);
        var cube = ReflectanceCube.Read(scene, new TilingOptions { TileSize = 16 });
        manual_seed(1);
        using var model = new KarmaModel(TestConfigs.Micro with { Bands = 20, AbundanceFromSpectrum = true, AbundanceRefinementSteps = 3 });
        var karma = SceneUnmixing.Karma(model, cube);
        var fcls = SceneUnmixing.Fcls(cube, SceneUnmixing.KarmaEndmembers(model, cube));
        double worst = karma.Abundances.Zip(fcls.Abundances, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 2e-3, $"largest abundance difference {worst}");
        // Without refinement the untrained head's softmax is far from it.
        using var plain = new KarmaModel(TestConfigs.Micro with { Bands = 20, AbundanceFromSpectrum = false, AbundanceRefinementSteps = 0 });
        var unrefined = SceneUnmixing.Karma(plain, cube);
        var reference = SceneUnmixing.Fcls(cube, SceneUnmixing.KarmaEndmembers(plain, cube));
        double away = unrefined.Abundances.Zip(reference.Abundances, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(away > 10 * worst, $"without refinement the largest difference is {away}, with it {worst}");
    }

    [Fact]
    public void The_dominant_endmember_agreement_counts_pixels_per_reference()
    {
        // Two pixels dominated by reference 0, one by reference 1; the estimate swaps its columns (matched by RMSE).
        var truth = new UnmixingTruth(null, [0.9f, 0.8f, 0.1f, 0.1f, 0.2f, 0.9f], 2, ["a", "b"]);
        var result = new UnmixingResult(new double[1, 2], [0.2f, 0.6f, 0.8f, 0.8f, 0.4f, 0.2f], new float[3], 1, 3, "test");
        var score = UnmixingScore.Compute(result, truth);
        Assert.Equal([1, 0], score.MatchedEstimate);
        Assert.Equal([0.5, 1.0], score.DominantAgreement!);      // a: pixel 0 agrees, pixel 1 does not; b: pixel 2 agrees
        Assert.Equal(2 / 3.0, score.MeanDominantAgreement!.Value, 12);
    }
}
