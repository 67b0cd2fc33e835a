using Karma.Data;
using Karma.Downstream;
using Karma.Evaluation;
using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Downstream;

[Collection(SerialTorchCollection.Name)]
public class SegmentationTests
{
    public SegmentationTests() => TorchRuntime.EnsureLoaded();

    static readonly KarmaConfig Micro = TestConfigs.Micro with { Bands = 12, DecoderDim = 16, DecoderHeads = 2 };

    /// <summary>
    /// A simulated scene labelled by each pixel's dominant endmember (classes 1..M), so labels follow the spectra,
    /// with its band statistics as pretraining would set them.
    /// </summary>
    static (LabelledScene Scene, float[] Mean, float[] Std) Scene(TempDir dir, int size)
    {
        var simulated = new SceneSimulator { Size = size, Bands = 12, Endmembers = 3, Seed = 4 }.Generate();
        using var scene = HyperspectralScene.Open(simulated.WriteTo(dir.Path));
        var tiling = new TilingOptions { TileSize = 16 };
        var cube = ReflectanceCube.Read(scene, tiling);
        var (mean, std) = TileSet.FromScene(scene, tiling).BandStatistics();
        int pixels = size * size;
        var labels = Enumerable.Range(0, pixels).Select(p => 1 + Enumerable.Range(0, 3).MaxBy(m => simulated.Abundances[m * pixels + p])).ToArray();
        return (new LabelledScene(cube, labels), mean, std);
    }

    static KarmaModel Model((LabelledScene Scene, float[] Mean, float[] Std) data)
    {
        manual_seed(0);
        var model = new KarmaModel(Micro);
        model.SetBandStatistics(data.Mean, data.Std);
        return model;
    }

    [Fact]
    public void Fine_tuning_learns_classes_that_follow_the_spectra()
    {
        using var dir = new TempDir();
        var data = Scene(dir, 32);
        var scene = data.Scene;
        var split = LabelSplit.Create(scene.Labels, 32, 32, unlabelled: 0, trainFraction: 0.2, perClass: null, spatial: false, seed: 1);
        using var model = Model(data);
        var predicted = Segmentation.FitPredict(model, [scene], split.Train, split.Test, excludeTestPixels: false, new Segmentation.Options(Steps: 60, BatchSize: 4, LearningRate: 3e-3));
        Assert.Equal(32 * 32, predicted.Length);
        var metrics = ClassificationMetrics.Compute(split.Test.Select(p => scene.Labels[p]).ToArray(), split.Test.Select(p => predicted[p]).ToArray());
        int majority = scene.Labels.GroupBy(l => l).Max(g => g.Count());
        Assert.True(metrics.Oa > majority / 1024.0 + 0.1, $"OA {metrics.Oa:P1} vs majority share {majority / 1024.0:P1}");
    }

    [Theory]
    [InlineData(SpectralEmbedding.Fixed)]
    [InlineData(SpectralEmbedding.Adapter)]
    [InlineData(SpectralEmbedding.SpectralSpatial)]
    public void Fine_tuning_gives_every_parameter_the_features_depend_on_a_learning_rate(SpectralEmbedding embedding)
    {
        // The layer-decay groups are made from parameter names: a module they miss would stay frozen in fine-tuning.
        manual_seed(0);
        using var model = new KarmaModel(Micro with { Variant = ModelVariant.Mae, SpectralEmbedding = embedding, SpectralDim = 8 });
        var x = rand(1, Micro.Bands, 16, 16);
        (model.EncodeAll(x, null).sum() + model.SpectralFeatures(x, null).sum()).backward();
        var grouped = Segmentation.EncoderLayers(model).SelectMany(g => g.Parameters).Select(p => p.Handle).ToHashSet();
        foreach (var (name, parameter) in model.named_parameters())
            if (parameter.grad is { } g && g.abs().sum().item<float>() > 0)
                Assert.True(grouped.Contains(parameter.Handle), $"{name} shapes the features but has no learning-rate group");
    }

    [Fact]
    public void Test_labels_never_influence_fine_tuning()
    {
        using var dir = new TempDir();
        var data = Scene(dir, 32);
        var scene = data.Scene;
        var split = LabelSplit.Create(scene.Labels, 32, 32, 0, 0.1, null, spatial: false, seed: 2);
        var scrambled = (int[])scene.Labels.Clone();
        foreach (int p in split.Test) scrambled[p] = 1 + (scrambled[p] % 3);   // every test label changed
        var options = new Segmentation.Options(Steps: 5, BatchSize: 2);
        int[] Run(int[] labels)
        {
            using var model = Model(data);
            return Segmentation.FitPredict(model, [scene with { Labels = labels }], split.Train, split.Test, excludeTestPixels: false, options);
        }
        Assert.Equal(Run(scene.Labels), Run(scrambled));
    }

    [Fact]
    public void Spatial_fine_tuning_uses_no_tile_that_holds_a_test_pixel()
    {
        using var dir = new TempDir();
        var data = Scene(dir, 16);   // one tile tall: every tile holds test pixels of the bottom half
        var scene = data.Scene;
        var split = LabelSplit.Create(scene.Labels, 16, 16, 0, 0.2, null, spatial: true, seed: 3);
        using var model = Model(data);
        var e = Assert.ThrowsAny<KarmaException>(() => Segmentation.FitPredict(model, [scene], split.Train, split.Test, excludeTestPixels: true, new Segmentation.Options(Steps: 1)));
        Assert.Contains("without test pixels", e.Message);
    }

    [Fact]
    public void The_probe_command_reports_every_method_on_one_split_and_draws_its_maps()
    {
        using var dir = new TempDir();
        var simulated = new SceneSimulator { Size = 32, Bands = 12, Endmembers = 3, Seed = 4 }.Generate();
        string scenePath = simulated.WriteTo(dir.Path);
        var labels = Enumerable.Range(0, 32 * 32).Select(p => 1f + Enumerable.Range(0, 3).MaxBy(m => simulated.Abundances[m * 1024 + p])).ToArray();
        using (var writer = SceneWriter.Create(dir.File("labels.tif"), 32, 32, 1, new SceneMetadata()))
        {
            writer.WriteWindow(0, 0, 32, 32, labels);
            writer.Commit();
        }
        using (var model = Model(Scene(dir, 32))) ModelCheckpoint.Save(model, dir.File("run"), tiling: new TilingOptions { TileSize = 16 });

        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "karma.dll"), "probe", "--checkpoint", dir.File("run"), "--data", scenePath,
                                  "--labels", dir.File("labels.tif"), "--per-class", "20", "--finetune-steps", "3", "--json", "--out", dir.File("probe") })
            info.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd(), error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, error);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal(["raw", "probe", "probe-learned", "scratch", "finetune"], json.RootElement.EnumerateObject().Select(m => m.Name));
        foreach (var method in json.RootElement.EnumerateObject())
        {
            Assert.InRange(method.Value.GetProperty("oa").GetDouble(), 0, 1);
            Assert.InRange(method.Value.GetProperty("kappa").GetDouble(), -1, 1);
            Assert.True(File.Exists(dir.File(Path.Combine("probe", $"classmap_{method.Name}.png"))), method.Name);
        }
        // Labels follow the spectra, so the raw-spectra probe must be far above the majority share.
        int majority = labels.GroupBy(l => l).Max(g => g.Count());
        Assert.True(json.RootElement.GetProperty("raw").GetProperty("oa").GetDouble() > majority / 1024.0 + 0.1);
        Assert.True(File.Exists(dir.File(Path.Combine("probe", "split.json"))));
    }
}
