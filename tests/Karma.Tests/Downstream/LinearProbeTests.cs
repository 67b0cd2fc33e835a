using Karma.Data;
using Karma.Downstream;
using Karma.Evaluation;
using Karma.Runtime;

namespace Karma.Tests.Downstream;

[Collection(SerialTorchCollection.Name)]
public class LinearProbeTests
{
    public LinearProbeTests() => TorchRuntime.EnsureLoaded();

    static int[] Labels(int pixels, int classes, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, pixels).Select(_ => 1 + random.Next(classes)).ToArray();
    }

    [Fact]
    public void One_hot_features_are_classified_perfectly_and_random_ones_at_chance()
    {
        const int rows = 40, cols = 40, classes = 4;
        var labels = Labels(rows * cols, classes, 1);
        var split = LabelSplit.Create(labels, rows, cols, unlabelled: 0, trainFraction: 0.1, perClass: null, spatial: false, seed: 2);
        var oneHot = new float[labels.Length, classes];
        for (int p = 0; p < labels.Length; p++) oneHot[p, labels[p] - 1] = 1;
        var predicted = LinearProbe.FitPredict(oneHot, labels, split.Train, split.Test);
        Assert.Equal(1.0, ClassificationMetrics.Compute(split.Test.Select(p => labels[p]).ToArray(), predicted).Oa);

        var random = new Random(3);
        var noise = new float[labels.Length, 8];
        for (int p = 0; p < labels.Length; p++) for (int k = 0; k < 8; k++) noise[p, k] = (float)random.NextDouble();
        var guessed = ClassificationMetrics.Compute(split.Test.Select(p => labels[p]).ToArray(), LinearProbe.FitPredict(noise, labels, split.Train, split.Test));
        Assert.InRange(guessed.Oa, 0.15, 0.4); // chance is 0.25
    }

    [Fact]
    public void Splits_never_share_pixels_and_spatial_splits_keep_halves_apart()
    {
        const int rows = 30, cols = 20;
        var labels = Labels(rows * cols, 3, 4);
        for (int p = 0; p < 50; p++) labels[p] = 0; // unlabelled
        foreach (bool spatial in new[] { false, true })
        {
            var split = LabelSplit.Create(labels, rows, cols, 0, null, perClass: 10, spatial, seed: 5);
            Assert.Empty(split.Train.Intersect(split.Test));
            Assert.DoesNotContain(split.Train.Concat(split.Test), p => labels[p] == 0);
            Assert.Equal(30, split.Train.Length);
            if (spatial)
            {
                Assert.All(split.Train, p => Assert.True(p / cols < rows / 2));
                Assert.All(split.Test, p => Assert.True(p / cols >= rows / 2));
            }
        }
        labels[100] = 9; // a class with a single pixel is reported
        Assert.Contains(LabelSplit.Create(labels, rows, cols, 0, 0.05, null, false, 1).Notes, n => n.StartsWith("class 9"));
    }

    [Fact]
    public void Streamed_feature_files_equal_the_in_memory_features()
    {
        using var dir = new TempDir();
        using var scene = dir.Simulate(size: 40, bands: 12, seed: 3);
        TorchSharp.torch.manual_seed(1);
        using var model = new Karma.Model.KarmaModel(TestConfigs.Micro with { Bands = 12, EncoderDim = 16, EncoderHeads = 2, DecoderDim = 16, DecoderHeads = 2 });
        var tiling = new Karma.Data.TilingOptions { TileSize = 16 };
        PixelFeatures.Write(model, scene, tiling, dir.File("features.tif"));
        var expected = PixelFeatures.Encode(model, ReflectanceCube.Read(scene, tiling));
        using var written = Karma.Data.HyperspectralScene.Open(dir.File("features.tif"));
        Assert.Equal((40, 40, 16), (written.Lines, written.Samples, written.Bands));
        var values = new float[16 * 40 * 40];
        written.ReadWindow(0, 0, 40, 40, [], values);
        for (int p = 0; p < 40 * 40; p += 37)
            for (int k = 0; k < 16; k++) Assert.Equal(expected[p, k], values[k * 1600 + p], 5);
    }

    [Fact]
    public void A_probe_on_encoder_features_and_the_spectrum_does_at_least_what_the_spectrum_alone_does()
    {
        // A simulated scene whose class is the dominant material: the spectrum alone decides it. An untrained encoder's
        // 32 features add nothing but noise; with the spectrum beside them, and the columns and penalty chosen by
        // cross-validation (as the probe experiment does), the probe must still match the raw-spectra probe.
        using var dir = new TempDir();
        var simulated = new SceneSimulator { Size = 48, Bands = 16, Endmembers = 3, Seed = 8, SnrDb = 25 }.Generate();
        using var scene = HyperspectralScene.Open(simulated.WriteTo(dir.Path));
        var cube = ReflectanceCube.Read(scene, new TilingOptions { TileSize = 16 });
        var labels = Enumerable.Range(0, 48 * 48).Select(p => 1 + Enumerable.Range(0, 3).MaxBy(m => simulated.Abundances[m * 48 * 48 + p])).ToArray();
        TorchSharp.torch.manual_seed(3);
        using var model = new Karma.Model.KarmaModel(TestConfigs.Micro with { Bands = 16 });
        var split = LabelSplit.Create(labels, 48, 48, unlabelled: 0, trainFraction: 0.05, perClass: null, spatial: false, seed: 1);
        var truth = split.Test.Select(p => labels[p]).ToArray();
        double Oa(float[,] features) => ClassificationMetrics.Compute(truth, LinearProbe.FitPredict(features, labels, split.Train, split.Test, seed: 1)).Oa;
        double raw = Oa(PixelFeatures.Spectra(cube));
        var spectra = PixelFeatures.Spectra(cube);
        var composed = new FeatureRecipe(FeatureSources.Encoder | FeatureSources.Spectrum).Compose(model, cube);
        double combined = ClassificationMetrics.Compute(truth, LinearProbe.FitPredict([spectra, composed], labels, split.Train, split.Test, seed: 1).Predicted).Oa;
        double encoderOnly = Oa(new FeatureRecipe(FeatureSources.Encoder).Compose(model, cube));
        Assert.True(raw > 0.8, $"raw spectra should separate the classes (OA {raw:P1})");
        Assert.True(combined >= raw - 0.005, $"features ⊕ spectrum {combined:P2} fell below the spectrum alone {raw:P2} (encoder alone {encoderOnly:P2})");

        // Cross-validation done once and passed in (as the probe experiment does for the spectrum) chooses exactly as
        // when it is done again; a wrong one passed in is believed, so the choice really comes from it.
        var scored = LinearProbe.CrossValidate(spectra, labels, split.Train, seed: 1);
        Assert.Contains(scored.Penalty, LinearProbe.Penalties);
        var again = LinearProbe.FitPredict([spectra, composed], labels, split.Train, split.Test, seed: 1);
        var reused = LinearProbe.FitPredict([spectra, composed], labels, split.Train, split.Test, seed: 1, known: [scored, null]);
        Assert.Equal(again.Candidate, reused.Candidate);
        Assert.Equal(again.Penalty, reused.Penalty);
        Assert.Equal(again.Predicted, reused.Predicted);
        var believed = LinearProbe.FitPredict([spectra, composed], labels, split.Train, split.Test, seed: 1, known: [new LinearProbe.CrossValidated(1.0, 1e-2), null]);
        Assert.Equal((0, 1e-2), (believed.Candidate, believed.Penalty));
        // The parts a recipe composes are its sources side by side.
        var parts = new FeatureRecipe(FeatureSources.Encoder | FeatureSources.Spectrum).Parts(model, cube);
        Assert.Equal([FeatureSources.Encoder, FeatureSources.Spectrum], parts.Select(p => p.Source));
        Assert.Equal(composed, FeatureRecipe.Concatenate(parts.Select(p => p.Features).ToList()));
    }
}
