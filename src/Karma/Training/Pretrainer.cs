using System.Diagnostics;
using Karma.Data;
using Karma.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Karma.Training;

/// <summary>
/// Masked-autoencoder pretraining of a <see cref="KarmaModel"/> on a <see cref="TileSet"/>. Every source of
/// randomness derives from <see cref="TrainingOptions.Seed"/>: weights (seeded before the model is built
/// by the caller), the order of tiles in each epoch, and the masks, so a run on one thread repeats exactly.
/// </summary>
public sealed class Pretrainer(KarmaModel model, TrainingOptions options)
{
    /// <summary>Trains for <see cref="TrainingOptions.Steps"/> steps, reporting each step to <paramref name="onStep"/>.</summary>
    public IReadOnlyList<StepRecord> Train(TileSet tiles, Action<StepRecord>? onStep = null)
    {
        if (tiles.Tiles.Count == 0) throw new KarmaException("No training tiles: the scenes are smaller than one tile or every tile had too much no-data.");
        if (tiles.Bands != model.Config.Bands || tiles.TileSize != model.Config.TileSize)
            throw new KarmaException($"Tiles are {tiles.TileSize}² × {tiles.Bands} bands but the model expects {model.Config.TileSize}² × {model.Config.Bands}.");
        var (mean, std) = tiles.BandStatistics();
        model.SetBandStatistics(mean, std);
        model.train();

        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = optim.AdamW(parameters, options.LearningRate, weight_decay: options.WeightDecay);
        using var maskGenerator = new Generator((ulong)options.Seed + 1);
        var order = new TileOrder(tiles.Tiles.Count, options.Seed);
        var log = new List<StepRecord>(options.Steps);
        int batch = Math.Min(options.BatchSize, tiles.Tiles.Count);

        for (int step = 0; step < options.Steps; step++)
        {
            long start = Stopwatch.GetTimestamp();
            using var scope = NewDisposeScope();
            double lr = options.LearningRateAt(step);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;

            var indices = order.Next(batch);
            var images = Batch(tiles, indices);
            optimizer.zero_grad();
            using var output = model.call(images, model.SampleMasking(batch, maskGenerator));
            using var loss = KarmaLoss.Compute(output, model.Targets(images), model.Config);
            loss.Total.backward();
            double gradNorm = nn.utils.clip_grad_norm_(parameters, options.ClipNorm);
            optimizer.step();

            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var record = new StepRecord(step, order.Epoch, loss.Total.item<float>(), loss.Huber.item<float>(),
                loss.SpectralAngle?.item<float>(), loss.Physics?.item<float>(), lr, gradNorm, batch / seconds);
            if (!double.IsFinite(record.Loss))
                throw new KarmaException($"The loss became {record.Loss} at step {step}. Lower the learning rate (--lr) or check the data for extreme values.");
            log.Add(record);
            onStep?.Invoke(record);
        }
        model.eval();
        return log;
    }

    /// <summary>Stacks the listed tiles into a [B, bands, T, T] tensor.</summary>
    public static Tensor Batch(TileSet tiles, IReadOnlyList<int> indices)
    {
        int t = tiles.TileSize, values = tiles.Bands * t * t;
        var data = new float[indices.Count * values];
        for (int i = 0; i < indices.Count; i++) tiles.Tiles[indices[i]].Values.CopyTo(data, i * values);
        return tensor(data, indices.Count, tiles.Bands, t, t);
    }

    /// <summary>Epoch-wise shuffled tile order from a seeded generator.</summary>
    sealed class TileOrder(int count, int seed)
    {
        readonly Random random = new(seed);
        int[] permutation = [];
        int position;

        public int Epoch { get; private set; } = -1;

        public int[] Next(int batch)
        {
            var result = new int[batch];
            for (int i = 0; i < batch; i++)
            {
                if (position >= permutation.Length)
                {
                    permutation = Enumerable.Range(0, count).ToArray();
                    random.Shuffle(permutation);
                    position = 0;
                    Epoch++;
                }
                result[i] = permutation[position++];
            }
            return result;
        }
    }
}
