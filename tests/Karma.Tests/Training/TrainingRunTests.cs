using Karma.Data;
using Karma.Model;
using Karma.Runtime;
using Karma.Training;

namespace Karma.Tests.Training;

[Collection(SerialTorchCollection.Name)]
public class TrainingRunTests
{
    public TrainingRunTests() => TorchRuntime.EnsureLoaded();

    sealed class Crash : Exception;

    static RunSpec Spec(string scene, int physicsEvery = 1) => new()
    {
        Config = TestConfigs.Micro with { EncoderDepth = 2, Endmembers = 4, PhysicsEvery = physicsEvery },
        Data = [scene],
        Tiling = new TilingOptions { TileSize = 16, Stride = 8 },
        Training = new TrainingOptions { Steps = 12, BatchSize = 4, LearningRate = 3e-3, Seed = 7, CheckpointEvery = 5 },
    };

    [Theory]
    [InlineData(1)]
    [InlineData(3)]   // the physics branch every third step: the checkpoint at step 5 falls between two of its steps
    public void A_run_resumed_after_a_crash_repeats_the_uninterrupted_run_exactly(int physicsEvery)
    {
        using var dir = new TempDir();
        string scene = new SceneSimulator { Size = 48, Bands = 24, Endmembers = 4, Seed = 3 }.Generate().WriteTo(dir.File("scene"));
        var spec = Spec(scene, physicsEvery);

        var whole = TrainingRun.Start(spec, dir.File("whole"));
        Assert.Throws<Crash>(() => TrainingRun.Start(spec, dir.File("crashed"), r => { if (r.Step == 8) throw new Crash(); }));
        // The crash left a checkpoint at step 5 and a log that runs past it.
        Assert.Equal(9, TrainingRun.ReadLog(dir.File("crashed/train.jsonl")).Count);
        var resumed = TrainingRun.Resume(dir.File("crashed"));

        var a = TrainingRun.ReadLog(dir.File("whole/train.jsonl"));
        var b = TrainingRun.ReadLog(dir.File("crashed/train.jsonl"));
        Assert.Equal(Enumerable.Range(0, 12), b.Select(r => r.Step));
        Assert.Equal(a.Select(r => (r.Loss, r.Huber, r.Sam, r.Physics, r.GradNorm, r.LearningRate, r.Epoch)),
                     b.Select(r => (r.Loss, r.Huber, r.Sam, r.Physics, r.GradNorm, r.LearningRate, r.Epoch)));
        Assert.Equal(whole.Metrics, resumed.Metrics);
        Assert.Equal(File.ReadAllBytes(dir.File("whole/checkpoint/weights.bin")), File.ReadAllBytes(dir.File("crashed/checkpoint/weights.bin")));
        // TensorBoard event files mirror the log.
        Assert.Contains(Directory.GetFiles(dir.File("whole/tensorboard"), "*", SearchOption.AllDirectories), f => new FileInfo(f).Length > 100);
    }

    [Fact]
    public void A_cancelled_run_checkpoints_the_step_it_stopped_at_and_resumes_exactly()
    {
        using var dir = new TempDir();
        string scene = new SceneSimulator { Size = 48, Bands = 24, Endmembers = 4, Seed = 3 }.Generate().WriteTo(dir.File("scene"));
        var spec = Spec(scene);
        TrainingRun.Start(spec, dir.File("whole"));
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => TrainingRun.Start(spec, dir.File("stopped"), r => { if (r.Step == 6) cancel.Cancel(); }, cancel: cancel.Token));
        Assert.Contains("\"Step\":7", File.ReadAllText(dir.File("stopped/checkpoint/trainer.json")));
        TrainingRun.Resume(dir.File("stopped"));
        Assert.Equal(TrainingRun.ReadLog(dir.File("whole/train.jsonl")).Select(r => r.Loss), TrainingRun.ReadLog(dir.File("stopped/train.jsonl")).Select(r => r.Loss));
    }

    [Fact]
    public void Starting_over_a_finished_run_is_refused_unless_asked()
    {
        using var dir = new TempDir();
        string scene = new SceneSimulator { Size = 32, Bands = 12, Endmembers = 3, Seed = 3 }.Generate().WriteTo(dir.File("scene"));
        var spec = Spec(scene) with { Training = new TrainingOptions { Steps = 2, BatchSize = 2, CheckpointEvery = 0 } };
        TrainingRun.Start(spec, dir.File("run"));
        var weights = File.ReadAllBytes(dir.File("run/checkpoint/weights.bin"));
        var e = Assert.ThrowsAny<KarmaException>(() => TrainingRun.Start(spec with { Training = spec.Training with { Seed = 9 } }, dir.File("run")));
        Assert.Contains("already holds a run", e.Message);
        Assert.Equal(weights, File.ReadAllBytes(dir.File("run/checkpoint/weights.bin")));
        TrainingRun.Start(spec with { Training = spec.Training with { Seed = 9 } }, dir.File("run"), overwrite: true);
        Assert.NotEqual(weights, File.ReadAllBytes(dir.File("run/checkpoint/weights.bin")));
    }

    [Fact]
    public void Resume_without_a_checkpoint_says_what_to_do()
    {
        using var dir = new TempDir();
        Assert.Contains("not a Karma run folder", Assert.ThrowsAny<KarmaException>(() => TrainingRun.Resume(dir.Path)).Message);
    }

    [Fact]
    public void A_batch_stacks_the_listed_tiles_in_order_and_a_validity_mask_marks_their_no_data()
    {
        TorchRuntime.EnsureLoaded();
        const int t = 2, bands = 3;
        var tiles = new TileSet
        {
            TileSize = t, Bands = bands,
            Tiles = Enumerable.Range(0, 3).Select(k => new TileSet.Tile("s", 0, k, Enumerable.Range(0, bands * t * t).Select(v => 100f * k + v).ToArray())
                { Invalid = k == 1 ? [false, true, false, false] : null }).ToList(),
        };
        int[] indices = [2, 0, 2, 1];
        using var batch = TileBatch.Batch(tiles, indices);
        Assert.Equal(new long[] { 4, bands, t, t }, batch.shape);
        Assert.Equal(indices.SelectMany(k => tiles.Tiles[k].Values).ToArray(), batch.data<float>().ToArray());
        using var valid = TileBatch.ValidPixels(tiles, indices)!;
        Assert.Equal(new float[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1 }, valid.data<float>().ToArray());
        Assert.Null(TileBatch.ValidPixels(tiles, [0, 2]));
    }

    [Fact]
    public void Batches_depend_only_on_seed_and_step_and_cover_each_epoch_once()
    {
        var epoch = Enumerable.Range(0, 5).SelectMany(step => Pretrainer.BatchIndices(20, 4, step, seed: 1).Indices).ToArray();
        Assert.Equal(Enumerable.Range(0, 20), epoch.Order());
        Assert.Equal(Pretrainer.BatchIndices(20, 4, 13, 1), Pretrainer.BatchIndices(20, 4, 13, 1), (x, y) => x.Indices.SequenceEqual(y.Indices) && x.Epoch == y.Epoch);
        Assert.NotEqual(Pretrainer.BatchIndices(20, 4, 0, 1).Indices, Pretrainer.BatchIndices(20, 4, 5, 1).Indices);
        Assert.NotEqual(Seeds.Derive(1, 2, 3), Seeds.Derive(1, 3, 2));
    }
}
