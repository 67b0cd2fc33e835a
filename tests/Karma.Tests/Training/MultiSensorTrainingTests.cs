using Karma.Data;
using Karma.Evaluation;
using Karma.Model;
using Karma.Runtime;
using Karma.Training;

namespace Karma.Tests.Training;

/// <summary>Pretraining one wavelength-aware model on scenes of several band sets.</summary>
[Collection(SerialTorchCollection.Name)]
public class MultiSensorTrainingTests
{
    public MultiSensorTrainingTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Grouped_batches_come_from_one_band_set_and_cover_every_tile_each_epoch()
    {
        int[] counts = [5, 13, 2];
        int batch = 4, perEpoch = Pretrainer.StepsPerEpoch(counts, batch);
        Assert.Equal(2 + 4 + 1, perEpoch);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var seen = counts.Select(_ => new HashSet<int>()).ToArray();
            for (int step = epoch * perEpoch; step < (epoch + 1) * perEpoch; step++)
            {
                var (group, indices, e) = Pretrainer.GroupedBatch(counts, batch, step, seed: 3);
                Assert.Equal(epoch, e);
                Assert.Equal(Math.Min(batch, counts[group]), indices.Length);
                Assert.All(indices, i => Assert.InRange(i, 0, counts[group] - 1));
                seen[group].UnionWith(indices);
                var again = Pretrainer.GroupedBatch(counts, batch, step, 3);
                Assert.Equal(group, again.Group);
                Assert.Equal(indices, again.Indices);
            }
            for (int g = 0; g < counts.Length; g++) Assert.Equal(counts[g], seen[g].Count);
        }
        // One band set: exactly the single-set schedule, so fixed-band runs repeat their old losses.
        for (int step = 0; step < 9; step++)
            Assert.Equal(Pretrainer.BatchIndices(10, 4, step, 7).Indices, Pretrainer.GroupedBatch([10], 4, step, 7).Indices);
    }

    static RunSpec Spec(string[] scenes, SpectralEmbedding embedding) => new()
    {
        Config = TestConfigs.Micro with { SpectralEmbedding = embedding, SpectralDim = 8 },
        Data = scenes,
        Tiling = new TilingOptions { TileSize = 16, Stride = 8 },
        Training = new TrainingOptions { Steps = 8, BatchSize = 4, LearningRate = 3e-3, Seed = 2, CheckpointEvery = 3 },
    };

    sealed class Crash : Exception;

    [Fact]
    public void A_wavelength_model_pretrains_on_two_sensors_resumes_exactly_and_evaluates_both()
    {
        using var dir = new TempDir();
        string a = new SceneSimulator { Size = 64, Bands = 24, Endmembers = 3, Seed = 1 }.Generate().WriteTo(dir.File("a"));
        string b = new SceneSimulator { Size = 64, Bands = 37, Endmembers = 3, Seed = 2 }.Generate().WriteTo(dir.File("b"));
        var spec = Spec([a, b], SpectralEmbedding.Wavelength);
        var (train, validation) = TrainingRun.LoadTiles(spec);
        Assert.Equal([24, 37], train.Select(t => t.Bands));
        Assert.Equal(2, validation.Count);

        var whole = TrainingRun.Start(spec, dir.File("whole"));
        Assert.Throws<Crash>(() => TrainingRun.Start(spec, dir.File("crashed"), r => { if (r.Step == 5) throw new Crash(); }));
        TrainingRun.Resume(dir.File("crashed"));
        Assert.Equal(TrainingRun.ReadLog(dir.File("whole/train.jsonl")).Select(r => r.Loss), TrainingRun.ReadLog(dir.File("crashed/train.jsonl")).Select(r => r.Loss));
        Assert.Equal(File.ReadAllBytes(dir.File("whole/checkpoint/weights.bin")), File.ReadAllBytes(dir.File("crashed/checkpoint/weights.bin")));

        var meta = ModelCheckpoint.ReadMetadata(dir.File("whole"));
        Assert.Equal(2, meta.TrainingBands!.Length);
        Assert.Null(meta.Wavelengths);
        var (model, _) = ModelCheckpoint.Load(dir.File("whole"));
        using (model)
        {
            var (tiles, resampled) = HeldOutTiles.For(meta, [a, b]);
            Assert.False(resampled);
            Assert.Equal(2, tiles.Count);
            Assert.True(double.IsFinite(ReconstructionMetrics.Evaluate(model, tiles).Psnr));
            Assert.True(double.IsFinite(whole.Metrics.Psnr));
        }
    }

    [Fact]
    public void A_fixed_band_model_refuses_two_band_sets_and_names_the_way_out()
    {
        using var dir = new TempDir();
        string a = new SceneSimulator { Size = 40, Bands = 24, Seed = 1 }.Generate().WriteTo(dir.File("a"));
        string b = new SceneSimulator { Size = 40, Bands = 37, Seed = 2 }.Generate().WriteTo(dir.File("b"));
        var e = Assert.Throws<BandMismatchException>(() => TrainingRun.LoadTiles(Spec([a, b], SpectralEmbedding.Fixed)));
        Assert.Contains("spectral embedding 'wavelength'", e.Message);
        Assert.Equal(["SpectralEmbedding"], e.Settings);
        Assert.Contains("37", e.Message);
    }

    [Fact]
    public void Scenes_one_tile_tall_are_held_out_whole_instead_of_leaving_no_training_tiles()
    {
        using var dir = new TempDir();
        var scenes = Enumerable.Range(0, 8).Select(i => new SceneSimulator { Size = 16, Bands = 12, Seed = 10 + i }.Generate().WriteTo(dir.File($"s{i}"))).ToArray();
        var (train, validation) = TrainingRun.LoadTiles(Spec(scenes, SpectralEmbedding.Fixed));
        Assert.Equal(6, train.Sum(t => t.Tiles.Count));
        Assert.Equal(2, validation.Sum(t => t.Tiles.Count));
        var held = validation.SelectMany(v => v.Tiles).Select(t => t.Scene).ToHashSet();
        Assert.DoesNotContain(train.SelectMany(t => t.Tiles), t => held.Contains(t.Scene));
    }
}
