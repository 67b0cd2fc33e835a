using Karma.Data;
using Karma.Evaluation;
using Karma.Experiments;
using Karma.Model;
using Karma.Runtime;
using Karma.Training;

namespace Karma.Tests.Experiments;

[Collection(SerialTorchCollection.Name)]
public class RepeatedComparisonTests
{
    public RepeatedComparisonTests() => TorchRuntime.EnsureLoaded();

    [Theory]
    [InlineData(16, 4)]
    [InlineData(7, 3)]
    [InlineData(5, 5)]
    public void Folds_are_disjoint_and_cover_every_scene_once(int scenes, int k)
    {
        var names = Enumerable.Range(0, scenes).Select(i => $"tile_{i:D2}.tif").Reverse().ToArray();
        var folds = RepeatedComparison.Folds(names, k);
        Assert.Equal(k, folds.Count);
        Assert.Equal(names.Order(), folds.SelectMany(f => f).Order());
        Assert.Equal(scenes, folds.SelectMany(f => f).Distinct().Count());
        Assert.All(folds, f => Assert.InRange(f.Length, scenes / k, scenes / k + 1));
        Assert.ThrowsAny<KarmaException>(() => RepeatedComparison.Folds(names, scenes + 1));
    }

    /// <summary>Four small simulated scenes and a micro mae run over them, for repeated comparisons by fold and seed.</summary>
    static (string[] Scenes, KarmaConfig Config, RunSpec Spec) FourScenes(TempDir dir, int sceneSeed, int steps, int trainingSeed)
    {
        var scenes = Enumerable.Range(0, 4).Select(i => new SceneSimulator { Size = 32, Bands = 10, Endmembers = 3, Seed = sceneSeed + i }.Generate().WriteTo(dir.File($"s{i}"))).ToArray();
        var config = TestConfigs.Micro with { Variant = ModelVariant.Mae };
        return (scenes, config, new RunSpec
        {
            Config = config, Data = scenes, Tiling = new TilingOptions { TileSize = 16, Stride = 8 },
            Training = new TrainingOptions { Steps = steps, BatchSize = 4, Seed = trainingSeed, CheckpointEvery = 0 },
        });
    }

    [Fact]
    public void A_model_compared_with_itself_differs_by_exactly_zero_and_seeds_change_the_runs()
    {
        using var dir = new TempDir();
        var (scenes, config, spec) = FourScenes(dir, sceneSeed: 20, steps: 4, trainingSeed: 3);
        var runs = RepeatedComparison.Run(spec, [("mae", config), ("mae-again", config)], folds: 2, seeds: 2, dir.File("cmp"), (_, _, train) => train(_ => { }));
        Assert.Equal(2 * 2 * 2, runs.Count);
        var summary = RepeatedComparison.Summarise(runs);
        var again = summary.Single(s => s.Variant == "mae-again");
        Assert.Equal(0.0, again.PsnrDifference.Mean);
        Assert.Equal(0.0, again.PsnrDifference.Std);
        Assert.Equal(0.0, again.SamDifference.Mean);
        Assert.Equal(4, again.PsnrDifference.Count);
        // The same seed repeats a run exactly; another seed gives another run.
        var mae = runs.Where(r => r.Variant == "mae").ToList();
        Assert.NotEqual(mae.Single(r => r.Fold == 0 && r.Seed == 3).Test.Psnr, mae.Single(r => r.Fold == 0 && r.Seed == 4).Test.Psnr);
        Assert.True(File.Exists(dir.File("cmp/comparison.md")) && File.Exists(dir.File("cmp/comparison_psnr.png")));
        Assert.Contains("± 0.00", File.ReadAllText(dir.File("cmp/comparison.md")));
    }

    [Fact]
    public void The_interpolation_floor_scores_each_test_fold_on_the_first_variants_tiles()
    {
        using var dir = new TempDir();
        var (scenes, config, spec) = FourScenes(dir, sceneSeed: 40, steps: 2, trainingSeed: 0);
        var runs = RepeatedComparison.Run(spec, [("mae", config)], folds: 2, seeds: 1, dir.File("cmp"), (_, _, train) => train(_ => { }), interpolationFloor: true);
        var floors = runs.Where(r => r.Variant == "interpolation").OrderBy(r => r.Fold).ToList();
        Assert.Equal([0, 1], floors.Select(r => r.Fold));
        var folds = RepeatedComparison.Folds(scenes, 2);
        for (int k = 0; k < 2; k++)
        {
            var meta = ModelCheckpoint.ReadMetadata(dir.File($"cmp/fold{k}/seed0/mae"));
            var expected = Comparison.Floor(meta.Config, HeldOutTiles.For(meta, folds[k]).Tiles);
            Assert.Equal(expected.Psnr, floors[k].Test.Psnr);
            Assert.Equal(expected.SamDegrees, floors[k].Test.SamDegrees);
        }
    }

    [Fact]
    public void A_model_trained_at_another_mask_ratio_is_scored_on_the_same_masks_as_the_rest()
    {
        using var dir = new TempDir();
        string scene = new SceneSimulator { Size = 64, Bands = 10, Endmembers = 3, Seed = 5 }.Generate().WriteTo(dir.File("scene"));
        var config = TestConfigs.Micro with { Variant = ModelVariant.Mae };
        var spec = new RunSpec
        {
            Config = config, Data = [scene], Tiling = new TilingOptions { TileSize = 16, Stride = 8 },
            Training = new TrainingOptions { Steps = 3, BatchSize = 4, CheckpointEvery = 0 },
        };
        var entries = Comparison.Run(spec, [("mae", config), ("mae-mask0.5", config with { MaskRatio = 0.5 })], dir.File("cmp"), (_, _, train) => train(_ => { }));
        var (model, _) = ModelCheckpoint.Load(dir.File("cmp/mae-mask0.5"));
        using (model)
        {
            var (_, validation) = TrainingRun.LoadTiles(spec);
            Assert.True(validation.Sum(v => v.Tiles.Count) > 0);                       // the bottom quarter of the scene
            var atReference = ReconstructionMetrics.Evaluate(model, validation, maskRatio: 0.75);
            var atOwn = ReconstructionMetrics.Evaluate(model, validation);
            Assert.Equal(atReference.Psnr, entries[1].Result.Metrics.Psnr);
            Assert.NotEqual(atOwn.Psnr, entries[1].Result.Metrics.Psnr);
        }
        Assert.Contains("scored at 0.75", File.ReadAllText(dir.File("cmp/comparison.md")));
    }

    [Fact]
    public void Spread_is_the_mean_and_sample_standard_deviation()
    {
        var s = RunSpread.Of([1.0, 2.0, 3.0, double.NaN]);
        Assert.Equal(2.0, s.Mean);
        Assert.Equal(1.0, s.Std, 12);
        Assert.Equal(3, s.Count);
        Assert.Equal(0.0, RunSpread.Of([5.0]).Std);
        Assert.Equal("2.00 ± 1.00", s.Format("F2"));
    }

    [Fact]
    public void Paired_differences_carry_their_sign_and_an_unsigned_spread()
    {
        Assert.Equal("-0.13 ± 0.18", RunSpread.Of([-0.26, 0.0]).FormatDifference(2));
        Assert.Equal("+1.50 ± 0.71", RunSpread.Of([1.0, 2.0]).FormatDifference(2));
        // A negative mean that rounds to zero once printed as "-+0.00".
        Assert.Equal("0.00 ± 0.01", RunSpread.Of([-0.012, 0.004]).FormatDifference(2));
        Assert.Equal("–", RunSpread.Of([]).FormatDifference(2));
    }
}
