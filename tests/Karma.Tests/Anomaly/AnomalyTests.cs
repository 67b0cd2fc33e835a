using System.Text.Json;
using Karma.Anomaly;
using Karma.Data;
using Karma.Model;
using Karma.Runtime;
using Karma.Training;
using static TorchSharp.torch;

namespace Karma.Tests.Anomaly;

[Collection(SerialTorchCollection.Name)]
public class AnomalyTests
{
    public AnomalyTests() => TorchRuntime.EnsureLoaded();

    static ReflectanceCube Cube(float[] values, int bands, int rows, int cols) => new(values, new bool[rows * cols], bands, rows, cols, null, new SceneMetadata());

    [Fact]
    public void Global_RX_equals_a_hand_computed_Mahalanobis_distance()
    {
        // Four pixels, two bands, [band][pixel]: x = (0,0), (2,0), (0,2), (2,4).
        float[] values = [0, 2, 0, 2, 0, 0, 2, 4];
        var scores = RxDetector.Global(Cube(values, 2, 2, 2));
        // μ = (1, 1.5); population Σ = [[1, 0.5], [0.5, 2.75]]; det = 2.5; Σ⁻¹ = [[2.75, −0.5], [−0.5, 1]] / 2.5.
        double Score(double a, double b) { double d0 = a - 1, d1 = b - 1.5; return (2.75 * d0 * d0 - 2 * 0.5 * d0 * d1 + d1 * d1) / 2.5; }
        Assert.Equal(Score(0, 0), scores[0], 5);
        Assert.Equal(Score(2, 0), scores[1], 5);
        Assert.Equal(Score(0, 2), scores[2], 5);
        Assert.Equal(Score(2, 4), scores[3], 5);
        Assert.Equal(4 * 2, scores.Sum(), 4);            // population Σ: the scores add up to pixels × rank
    }

    [Fact]
    public void Global_RX_equals_the_reference_on_an_ABU_scene()
    {
        var reference = JsonDocument.Parse(File.ReadAllText(Shared.Require("reference/reference.json"))).RootElement.GetProperty("anomaly").GetProperty("rx");
        string file = Shared.Require("data/aviris_abu/abu-urban-1.mat");
        using var scene = HyperspectralScene.Open(file + ":data");
        var cube = ReflectanceCube.Read(scene, new TilingOptions());
        var scores = RxDetector.Global(cube);
        var first = reference.GetProperty("scoresFirst20").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        for (int i = 0; i < first.Length; i++) Assert.Equal(first[i], scores[i], first[i] * 1e-4);
        Assert.Equal(reference.GetProperty("scoresRowMajorSum").GetDouble(), scores.Sum(v => (double)v), 1);
        var truth = LabelMap.Read(file + ":map", cube.Rows, cube.Cols);
        var scored = AnomalyDetection.Score([new AnomalyMap("rx", scores, 0)], truth);
        Assert.Equal(reference.GetProperty("auc").GetDouble(), scored[0].Auc!.Value, 6);
    }

    [Fact]
    public void Local_RX_finds_a_pixel_unlike_its_ring_and_refuses_bad_windows()
    {
        int rows = 21, cols = 21, bands = 6;
        var random = new Random(2);
        var values = new float[bands * rows * cols];
        for (int b = 0; b < bands; b++) for (int p = 0; p < rows * cols; p++) values[b * rows * cols + p] = 0.3f + 0.02f * (float)random.NextDouble() + 0.1f * (p % cols) / cols;
        int target = 10 * cols + 10;
        for (int b = 0; b < bands; b++) values[b * rows * cols + target] += b % 2 == 0 ? 0.05f : -0.05f;
        var scores = RxDetector.Local(Cube(values, bands, rows, cols), 3, 9, 4);
        Assert.Equal(target, Array.IndexOf(scores, scores.Max()));
        Assert.ThrowsAny<KarmaException>(() => RxDetector.Local(Cube(values, bands, rows, cols), 4, 9));
        Assert.ThrowsAny<KarmaException>(() => RxDetector.Local(Cube(values, bands, rows, cols), 9, 9));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(5)]
    public void Complementary_masks_hide_every_token_exactly_once(int grid)
    {
        var masks = TokenMasking.Lattice(3, grid);
        Assert.Equal(4, masks.Length);
        var hiddenCount = new int[grid * grid];
        foreach (var m in masks)
        {
            var mask = m.Mask.data<float>().ToArray();
            for (int t = 0; t < grid * grid; t++)
            {
                Assert.Equal(mask[t], mask[2 * grid * grid + t]);                       // the same for every tile of the batch
                if (mask[t] > 0.5f) hiddenCount[t]++;
            }
            // Visible tokens come first in the shuffle, and Restore undoes it.
            var shuffle = m.Shuffle[0].data<long>().ToArray();
            Assert.All(shuffle.Take(m.Visible), t => Assert.Equal(0f, mask[t]));
            Assert.Equal(Enumerable.Range(0, grid * grid).Select(i => (long)i), m.Shuffle[0].gather(0, m.Restore[0]).data<long>().ToArray());
        }
        Assert.All(hiddenCount, c => Assert.Equal(1, c));
        Assert.ThrowsAny<KarmaException>(() => TokenMasking.Lattice(1, 1));
    }

    [Fact]
    public void An_implanted_anomaly_scores_in_the_top_percent()
    {
        using var dir = new TempDir();
        var sim = new SceneSimulator { Size = 48, Bands = 24, Endmembers = 3, Seed = 4 }.Generate();
        string path = sim.WriteTo(dir.File("scene"));
        // Implant a 2×2 target whose spectrum no mixture of the scene's materials gives: a steep ramp across the bands.
        using (var original = HyperspectralScene.Open(path))
        {
            var cube = ReflectanceCube.Read(original, new TilingOptions());
            var values = cube.Values.ToArray();
            int[] implanted = [20 * 48 + 30, 20 * 48 + 31, 21 * 48 + 30, 21 * 48 + 31];
            foreach (int p in implanted) for (int b = 0; b < 24; b++) values[b * 48 * 48 + p] = 0.05f + 0.6f * b / 23f;
            SceneWriter.Write(dir.File("implanted.hdr"), 48, 48, 24, values, original.Metadata);
        }
        var spec = new RunSpec
        {
            Config = TestConfigs.Micro, Data = [dir.File("implanted.hdr")],
            Tiling = new TilingOptions { TileSize = 16, Stride = 8 },
            Training = new TrainingOptions { Steps = 40, BatchSize = 8, LearningRate = 3e-3, CheckpointEvery = 0 },
        };
        TrainingRun.Start(spec, dir.File("run"));
        var (model, meta) = ModelCheckpoint.Load(dir.File("run"));
        using (model)
        {
            using var scene = HyperspectralScene.Open(dir.File("implanted.hdr"));
            var all = ContextDetector.Score(model, meta.Read(scene), new AnomalyOptions(3, 9, 6));
            var scores = all.Karma;
            // karma = z(global RX) + z(local RX) of the physics residual, with the windows asked for.
            var zGlobal = ContextDetector.RobustZ(all.Physics!);
            var zLocal = ContextDetector.RobustZ(all.PhysicsLocal!);
            for (int p = 0; p < scores.Length; p += 97) Assert.Equal(zGlobal[p] + zLocal[p], scores[p], 4);
            var wider = ContextDetector.Score(model, meta.Read(scene), new AnomalyOptions(5, 15, 6)).PhysicsLocal!;
            Assert.NotEqual(all.PhysicsLocal!, wider);
            // Without the context passes: the same karma score, and no context residual.
            var quick = ContextDetector.Score(model, meta.Read(scene), new AnomalyOptions(3, 9, 6, Context: false));
            Assert.Null(quick.Context);
            Assert.Equal(all.Karma, quick.Karma);
            Assert.NotNull(all.Context);
            var threshold = scores.Order().ElementAt((int)(0.99 * scores.Length));
            foreach (int p in new[] { 20 * 48 + 30, 20 * 48 + 31, 21 * 48 + 30, 21 * 48 + 31 })
                Assert.True(scores[p] >= threshold, $"implanted pixel {p} scored {scores[p]:F2}, below the top 1% ({threshold:F2})");
        }
    }

    [Fact]
    public void Robust_z_values_use_the_median_and_the_scaled_MAD_and_keep_NaN()
    {
        // Finite values 1, 2, 3, 4, 100: median 3; absolute deviations 2, 1, 0, 1, 97 have median 1, so the scale is 1.4826.
        var z = ContextDetector.RobustZ([1, 2, float.NaN, 3, 4, 100]);
        Assert.Equal(-2 / 1.4826, z[0], 5);
        Assert.Equal(0, z[3], 5);
        Assert.Equal(97 / 1.4826, z[5], 3);
        Assert.True(float.IsNaN(z[2]));
        Assert.Equal([0f, 0f, 0f], ContextDetector.RobustZ([5, 5, 5]));           // no spread: every value is typical, none infinite
    }

    [Fact]
    public void Methods_parse_and_the_karma_method_needs_a_model()
    {
        Assert.Equal([AnomalyMethod.Rx, AnomalyMethod.LocalRx], AnomalyDetection.ParseMethods("all", haveModel: false));
        Assert.Equal(3, AnomalyDetection.ParseMethods("all", haveModel: true).Length);
        Assert.Equal([AnomalyMethod.Karma, AnomalyMethod.Rx], AnomalyDetection.ParseMethods("karma, rx", false));
        Assert.Contains("local-rx", Assert.ThrowsAny<KarmaException>(() => AnomalyDetection.ParseMethods("lrx", false)).Message);
        var cube = Cube(new float[2 * 4], 2, 2, 2);
        Assert.Equal(["Checkpoint"], Assert.Throws<InvalidSettingException>(() => AnomalyDetection.Detect(cube, [AnomalyMethod.Karma])).Settings);
    }
}
