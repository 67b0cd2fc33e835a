using Karma.Data;
using Karma.Downstream;
using Karma.Evaluation;
using Karma.Model;
using Karma.Runtime;
using Karma.Unmixing;
using static TorchSharp.torch;

namespace Karma.Tests.Downstream;

[Collection(SerialTorchCollection.Name)]
public class SegmentationTests
{
    public SegmentationTests() => TorchRuntime.EnsureLoaded();

    static readonly KarmaConfig Micro = KarmaConfig.Tiny with
    {
        Bands = 12, TileSize = 16, PatchSize = 4, EncoderDim = 32, EncoderDepth = 1, EncoderHeads = 4, DecoderDim = 16, DecoderDepth = 1, DecoderHeads = 2, Endmembers = 3,
    };

    /// <summary>A simulated scene labelled by each pixel's dominant endmember (classes 1..M), so labels follow the spectra.</summary>
    static LabelledScene Scene(TempDir dir, int size)
    {
        var simulated = new SceneSimulator { Size = size, Bands = 12, Endmembers = 3, Seed = 4 }.Generate();
        using var scene = HyperspectralScene.Open(simulated.WriteTo(dir.Path));
        var cube = ReflectanceCube.Read(scene, new TilingOptions { TileSize = 16 });
        int pixels = size * size;
        var labels = Enumerable.Range(0, pixels).Select(p => 1 + Enumerable.Range(0, 3).MaxBy(m => simulated.Abundances[m * pixels + p])).ToArray();
        return new LabelledScene(cube, labels);
    }

    static KarmaModel Model(LabelledScene scene)
    {
        manual_seed(0);
        var model = new KarmaModel(Micro);
        var spectra = PixelFeatures.Spectra(scene.Cube);
        var mean = new float[12];
        var std = new float[12];
        for (int b = 0; b < 12; b++)
        {
            var column = Enumerable.Range(0, spectra.GetLength(0)).Select(p => (double)spectra[p, b]).ToArray();
            mean[b] = (float)column.Average();
            std[b] = (float)Math.Sqrt(column.Average(v => (v - mean[b]) * (v - mean[b])));
        }
        model.SetBandStatistics(mean, std);
        return model;
    }

    [Fact]
    public void Fine_tuning_learns_classes_that_follow_the_spectra()
    {
        using var dir = new TempDir();
        var scene = Scene(dir, 32);
        var split = LabelSplit.Create(scene.Labels, 32, 32, unlabelled: 0, trainFraction: 0.2, perClass: null, spatial: false, seed: 1);
        using var model = Model(scene);
        var predicted = Segmentation.FitPredict(model, [scene], split.Train, split.Test, excludeTestPixels: false, new Segmentation.Options(Steps: 60, BatchSize: 4, LearningRate: 3e-3));
        Assert.Equal(32 * 32, predicted.Length);
        var metrics = ClassificationMetrics.Compute(split.Test.Select(p => scene.Labels[p]).ToArray(), split.Test.Select(p => predicted[p]).ToArray());
        int majority = scene.Labels.GroupBy(l => l).Max(g => g.Count());
        Assert.True(metrics.Oa > majority / 1024.0 + 0.1, $"OA {metrics.Oa:P1} vs majority share {majority / 1024.0:P1}");
    }

    [Fact]
    public void Test_labels_never_influence_fine_tuning()
    {
        using var dir = new TempDir();
        var scene = Scene(dir, 32);
        var split = LabelSplit.Create(scene.Labels, 32, 32, 0, 0.1, null, spatial: false, seed: 2);
        var scrambled = (int[])scene.Labels.Clone();
        foreach (int p in split.Test) scrambled[p] = 1 + (scrambled[p] % 3);   // every test label changed
        var options = new Segmentation.Options(Steps: 5, BatchSize: 2);
        int[] Run(int[] labels)
        {
            using var model = Model(scene);
            return Segmentation.FitPredict(model, [scene with { Labels = labels }], split.Train, split.Test, excludeTestPixels: false, options);
        }
        Assert.Equal(Run(scene.Labels), Run(scrambled));
    }

    [Fact]
    public void Spatial_fine_tuning_uses_no_tile_that_holds_a_test_pixel()
    {
        using var dir = new TempDir();
        var scene = Scene(dir, 16);   // one tile tall: every tile holds test pixels of the bottom half
        var split = LabelSplit.Create(scene.Labels, 16, 16, 0, 0.2, null, spatial: true, seed: 3);
        using var model = Model(scene);
        var e = Assert.Throws<KarmaException>(() => Segmentation.FitPredict(model, [scene], split.Train, split.Test, excludeTestPixels: true, new Segmentation.Options(Steps: 1)));
        Assert.Contains("without test pixels", e.Message);
    }
}
