using Karma.Data;
using Karma.Evaluation;
using Karma.Model;
using Karma.Runtime;
using Karma.Training;
using static TorchSharp.torch;

namespace Karma.Tests.Training;

[Collection(SerialTorchCollection.Name)]
public class PretrainerTests
{
    public PretrainerTests() => TorchRuntime.EnsureLoaded();

    static readonly KarmaConfig Micro = TestConfigs.Micro with { EncoderDepth = 2, Endmembers = 4 };

    static TileSet SimulatedTiles()
    {
        var scene = new SceneSimulator { Size = 48, Bands = 24, Endmembers = 4, Seed = 3 }.Generate();
        var dir = Path.Combine(Path.GetTempPath(), "karma-pretrain-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using var opened = HyperspectralScene.Open(scene.WriteTo(dir));
            return TileSet.FromScene(opened, new TilingOptions { TileSize = 16, Stride = 8 });
        }
        finally { Directory.Delete(dir, true); }
    }

    static (IReadOnlyList<StepRecord> Log, KarmaModel Model) Train(TileSet tiles, ModelVariant variant, int steps, double physicsShare = 1, int physicsEvery = 1)
    {
        set_num_threads(1);
        manual_seed(0);
        var model = new KarmaModel(Micro with { Variant = variant, Bands = tiles.Bands, PhysicsShare = physicsShare, PhysicsEvery = physicsEvery });
        using var trainer = new Pretrainer(model, new TrainingOptions { Steps = steps, BatchSize = 4, LearningRate = 3e-3, Seed = 0 });
        var log = trainer.Train(tiles);
        return (log, model);
    }

    [Fact]
    public void Abundance_diagnostics_in_one_pass_equal_the_tensor_reductions()
    {
        manual_seed(3);
        var contiguous = randn(2, 5, 16, 6).softmax(-1);                        // [B, N, P², M], as the FCLS steps return it
        var transposed = randn(2, 5, 6, 16).softmax(2).transpose(2, 3);         // the softmax head's layout: the tensor path
        foreach (var a in new[] { contiguous, transposed })
        {
            var (spread, entropy) = Pretrainer.AbundanceDiagnostics(a);
            var byEndmember = a.transpose(2, 3);
            double expectedSpread = byEndmember.std([0L, 1L, 3L]).mean().item<float>();
            double expectedEntropy = -(byEndmember * (byEndmember + 1e-12).log()).sum(2).mean().item<float>() / Math.Log(6);
            Assert.Equal(expectedSpread, spread!.Value, 5);
            Assert.Equal(expectedEntropy, entropy!.Value, 5);
        }
        Assert.True(contiguous.is_contiguous() && !transposed.is_contiguous());
    }

    [Theory]
    [InlineData(1.0, 1)]
    [InlineData(0.25, 1)]   // the physics branch on a quarter of the patches learns too
    [InlineData(1.0, 4)]    // and in one step of four (--physics-every 4)
    public void Short_run_lowers_every_loss_term(double physicsShare, int physicsEvery)
    {
        var tiles = SimulatedTiles();
        var (log, model) = Train(tiles, ModelVariant.Karma, 60, physicsShare, physicsEvery);
        using (model)
        {
            // Over the steps that ran the branch (all of them, or every fourth), so that each average holds every term.
            var measured = log.Where(r => r.Physics is not null).ToList();
            Assert.Equal(60 / physicsEvery, measured.Count);
            int window = 10 / physicsEvery + 1;
            double First(Func<StepRecord, double> f) => measured.Take(window).Average(f);
            double Last(Func<StepRecord, double> f) => measured.TakeLast(window).Average(f);
            Assert.True(Last(r => r.Loss) < 0.5 * First(r => r.Loss), $"loss {First(r => r.Loss)} → {Last(r => r.Loss)}");
            Assert.True(Last(r => r.Huber) < First(r => r.Huber));
            Assert.True(Last(r => r.Physics!.Value) < First(r => r.Physics!.Value));
            Assert.True(Last(r => r.Sam!.Value) < First(r => r.Sam!.Value));
            var metrics = ReconstructionMetrics.Evaluate(model, tiles);
            Assert.True(metrics.Psnr > 15, $"PSNR {metrics.Psnr}");
            Assert.NotNull(metrics.PsnrPhys);
        }
    }

    [Fact]
    public void Physics_every_k_runs_the_branch_on_every_kth_step_and_logs_the_objective_at_its_own_weights()
    {
        var tiles = SimulatedTiles();
        set_num_threads(1);
        manual_seed(0);
        var config = Micro with { Variant = ModelVariant.Karma, Bands = tiles.Bands, PhysicsEvery = 3, PhysicsWeight = 0.5 };
        using var model = new KarmaModel(config);
        using var trainer = new Pretrainer(model, new TrainingOptions { Steps = 7, BatchSize = 4, LearningRate = 3e-3, Seed = 0 });
        var endmembers = new List<float[]>();
        var log = trainer.Train(tiles, r =>
        {
            endmembers.Add(model.Physics!.Endmembers().detach().data<float>().ToArray());
            var branch = model.Physics!.parameters().Where(p => p.requires_grad).ToList();
            if (r.Physics is not null) return;
            // A step without the branch gives its parameters a zero gradient (so AdamW's moments carry them on), and the rest a real one.
            Assert.All(branch, p => Assert.Equal(0, p.grad!.abs().max().item<float>()));
            var inBranch = branch.Select(p => p.Handle).ToHashSet();
            Assert.Contains(model.parameters().Where(p => !inBranch.Contains(p.Handle)), p => p.grad is { } g && g.abs().max().item<float>() > 0);
        });
        Assert.Equal([0, 3, 6], log.Where(r => r.Physics is not null).Select(r => r.Step));
        Assert.All(log, r => Assert.Equal(r.Physics is not null, r.AbundanceSpread is not null));
        // The logged loss is λ1·Huber + λ2·SAM + λ3·physics on the branch's steps (not 3·λ3), the pixel terms alone on the others.
        foreach (var r in log)
            Assert.Equal(config.HuberWeight * r.Huber + config.SamWeight * r.Sam!.Value + config.PhysicsWeight * (r.Physics ?? 0), r.Loss, 1e-5 * r.Loss);
        // The branch's own parameters, and only they, form the last two groups (with and without weight decay) and take √k
        // times the others' learning rate, with their decay divided by √k so that lr·wd a step stays the same.
        var groups = trainer.ParameterGroups;
        Assert.Equal(4, groups.Count);
        var branchParameters = model.Physics!.parameters().Where(p => p.requires_grad).Select(p => p.Handle).Order().ToList();
        Assert.Equal(branchParameters, groups[2].Parameters.Concat(groups[3].Parameters).Select(p => p.Handle).Order().ToList());
        Assert.All(groups, g => Assert.NotEmpty(g.Parameters));
        Assert.Equal(groups[0].LearningRate, groups[1].LearningRate);
        Assert.Equal(Math.Sqrt(3) * groups[0].LearningRate, groups[2].LearningRate, 1e-12);
        Assert.Equal(groups[2].LearningRate, groups[3].LearningRate);
        Assert.Equal(groups[0].WeightDecay / Math.Sqrt(3), groups[2].WeightDecay, 1e-12);
        Assert.True(groups[0].WeightDecay > 0);
        // The endmembers keep moving between the branch's steps: the moments from step 0 carry them through steps 1 and 2.
        Assert.NotEqual(endmembers[0], endmembers[1]);
        Assert.NotEqual(endmembers[1], endmembers[2]);
    }

    [Fact]
    public void The_first_step_logs_the_same_objective_whichever_k_weights_the_physics_terms()
    {
        // Step 0 runs the branch for any k, from the same weights: the logged loss, with a cross-consistency term too, must not
        // depend on the k its gradient was weighted with. A model without the branch has one pair of parameter groups for any k.
        var tiles = SimulatedTiles();
        double FirstLoss(int every)
        {
            set_num_threads(1);
            manual_seed(0);
            using var model = new KarmaModel(Micro with { Variant = ModelVariant.Karma, Bands = tiles.Bands, PhysicsEvery = every, CrossConsistencyWeight = 0.5 });
            using var trainer = new Pretrainer(model, new TrainingOptions { Steps = 1, BatchSize = 4, LearningRate = 3e-3, Seed = 0 });
            return trainer.Train(tiles)[0].Loss;
        }
        Assert.Equal(FirstLoss(1), FirstLoss(3), 1e-6);
        using var mae = new KarmaModel(Micro with { Variant = ModelVariant.Mae, Bands = tiles.Bands, PhysicsEvery = 3 });
        using var maeTrainer = new Pretrainer(mae, new TrainingOptions { Steps = 1, BatchSize = 4 });
        Assert.Equal(2, maeTrainer.ParameterGroups.Count);
    }

    [Fact]
    public void Same_seed_gives_the_same_loss_sequence_and_evaluation()
    {
        var tiles = SimulatedTiles();
        var (a, ma) = Train(tiles, ModelVariant.Karma, 8);
        var (b, mb) = Train(tiles, ModelVariant.Karma, 8);
        using (ma)
        using (mb)
        {
            Assert.Equal(a.Select(r => r.Loss), b.Select(r => r.Loss));
            Assert.Equal(ReconstructionMetrics.Evaluate(ma, tiles, maskSeed: 4), ReconstructionMetrics.Evaluate(mb, tiles, maskSeed: 4));
        }
    }

    [Fact]
    public void Learning_rate_warms_up_linearly_then_decays_by_cosine()
    {
        var o = new TrainingOptions { Steps = 100, LearningRate = 1e-3, WarmupFraction = 0.1, MinLearningRateFraction = 0 };
        Assert.Equal(1e-4, o.LearningRateAt(0), 12);
        Assert.Equal(1e-3, o.LearningRateAt(9), 12);
        Assert.Equal(0.5e-3, o.LearningRateAt(55), 12); // halfway through the decay
        Assert.True(o.LearningRateAt(99) < 1e-5);
    }

    [Fact]
    public void Spatial_split_keeps_validation_pixels_out_of_training_tiles()
    {
        using var dir = new TempDir();
        using var opened = dir.Simulate(size: 64, bands: 8, seed: 1);
        var tiles = TileSet.FromScene(opened, new TilingOptions { TileSize = 16, Stride = 8 });
        var (train, validation) = tiles.SplitByRows(64, 0.25);
        Assert.NotEmpty(train.Tiles);
        Assert.NotEmpty(validation.Tiles);
        int lastTrainRow = train.Tiles.Max(t => t.Row + 16);
        Assert.All(validation.Tiles, v => Assert.True(v.Row >= lastTrainRow));
    }

    [Fact]
    public void Three_way_split_keeps_blocks_apart()
    {
        using var dir = new TempDir();
        using var opened = dir.Simulate(size: 96, bands: 8, seed: 1);
        var tiles = TileSet.FromScene(opened, new TilingOptions { TileSize = 16, Stride = 8 });
        var (train, validation, test) = tiles.SplitByRows(96, 0.25, 0.25);
        Assert.All(new[] { train, validation, test }, set => Assert.NotEmpty(set.Tiles));
        Assert.True(train.Tiles.Max(t => t.Row + 16) <= validation.Tiles.Min(t => t.Row));
        Assert.True(validation.Tiles.Max(t => t.Row + 16) <= test.Tiles.Min(t => t.Row));
        Assert.Throws<ArgumentException>(() => tiles.SplitByRows(96, 0.5, 0.5));
    }
}
