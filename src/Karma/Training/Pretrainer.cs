using System.Diagnostics;
using System.Text.Json;
using Karma.Data;
using Karma.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Karma.Training;

/// <summary>
/// Masked-autoencoder pretraining of a <see cref="KarmaModel"/> on a <see cref="TileSet"/>, one step at a time.
/// Every random choice of a step (which tiles, their flips and rotations, which patches are masked) is derived
/// from <see cref="TrainingOptions.Seed"/> and the step number alone, so the only state a resumed run needs is
/// the weights, the optimiser's moments and the step counter: <see cref="SaveState"/>/<see cref="LoadState"/>,
/// and a resumed run repeats an uninterrupted one exactly.
/// AdamW decays only weight matrices; biases, norms, the mask token and the endmember spectra are not
/// decayed (decaying endmembers would pull them towards zero reflectance).
/// </summary>
public sealed class Pretrainer : IDisposable
{
    const string OptimizerFile = "optimizer.bin", StateFile = "trainer.json";

    readonly KarmaModel model;
    readonly TrainingOptions options;
    readonly LeanAdamW optimizer;
    readonly List<Parameter> parameters;

    /// <summary>Steps taken so far (the next step's number).</summary>
    public int Step { get; private set; }

    /// <summary>Prepares to train <paramref name="model"/> with <paramref name="options"/>.</summary>
    public Pretrainer(KarmaModel model, TrainingOptions options)
    {
        this.model = model;
        this.options = options;
        var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        parameters = named.Select(p => p.parameter).ToList();
        static bool Decays((string name, Parameter p) x) => x.p.dim() >= 2 && !x.name.Contains("maskToken") && !x.name.Contains("endmember");
        optimizer = new LeanAdamW(
        [
            new AdamW.ParamGroup(named.Where(Decays).Select(x => x.parameter), options.LearningRate, beta2: 0.999, weight_decay: options.WeightDecay),
            new AdamW.ParamGroup(named.Where(x => !Decays(x)).Select(x => x.parameter), options.LearningRate, beta2: 0.999, weight_decay: 0),
        ], options.LearningRate);
    }

    /// <summary>
    /// Trains from <see cref="Step"/> to <see cref="TrainingOptions.Steps"/>, reporting each step to
    /// <paramref name="onStep"/>. A fresh run (step 0) first sets the model's band statistics from the tiles.
    /// </summary>
    public IReadOnlyList<StepRecord> Train(TileSet tiles, Action<StepRecord>? onStep = null)
    {
        Check(tiles);
        if (Step == 0) InitialiseFromData(tiles);
        var log = new List<StepRecord>();
        while (Step < options.Steps)
        {
            var record = TrainStep(tiles);
            log.Add(record);
            onStep?.Invoke(record);
        }
        model.eval();
        return log;
    }

    /// <summary>
    /// What a fresh run learns from the data before the first step: per-band statistics for standardising the
    /// encoder input and, for the physics branch, endmembers from vertex component analysis of training pixels.
    /// </summary>
    void InitialiseFromData(TileSet tiles)
    {
        var (mean, std) = tiles.BandStatistics();
        model.SetBandStatistics(mean, std);
        if (model.Physics is not { } physics) return;
        float[,] endmembers;
        switch (model.Config.EndmemberInit)
        {
            case EndmemberInitialisation.Vca:
                (endmembers, _) = Unmixing.VertexComponentAnalysis.Extract(tiles.SamplePixels(4096, options.Seed), model.Config.Endmembers, options.Seed);
                break;
            case EndmemberInitialisation.Library:
                var library = Unmixing.SpectralLibrary.Read(model.Config.EndmemberLibrary ?? throw new KarmaException("Library endmember initialisation needs a library path."));
                var resampled = library.ResampleTo(tiles.Wavelengths ?? throw new KarmaException("The training scenes have no wavelengths, so a spectral library cannot be resampled to them."));
                if (resampled.GetLength(1) != model.Config.Endmembers)
                    throw new KarmaException(library.Path, $"holds {resampled.GetLength(1)} spectra but the model has M = {model.Config.Endmembers}; set --endmembers {resampled.GetLength(1)}.");
                endmembers = new float[resampled.GetLength(0), resampled.GetLength(1)];
                for (int b = 0; b < resampled.GetLength(0); b++)
                    for (int j = 0; j < resampled.GetLength(1); j++) endmembers[b, j] = (float)resampled[b, j];
                break;
            default:
                return;
        }
        using var spectra = from_array(endmembers);
        physics.SetEndmembers(spectra.clamp_min(1e-3), physics.LearnsEndmembers);
    }

    void Check(TileSet tiles)
    {
        if (tiles.Tiles.Count == 0) throw new KarmaException("No training tiles: the scenes are smaller than one tile or every tile had too much no-data.");
        if (tiles.Bands != model.Config.Bands || tiles.TileSize != model.Config.TileSize)
            throw new KarmaException($"Tiles are {tiles.TileSize}² × {tiles.Bands} bands but the model expects {model.Config.TileSize}² × {model.Config.Bands}.");
    }

    /// <summary>One optimiser step on the batch this step's number selects.</summary>
    public StepRecord TrainStep(TileSet tiles)
    {
        Check(tiles);
        model.train();
        long start = Stopwatch.GetTimestamp();
        using var scope = NewDisposeScope();
        double lr = options.LearningRateAt(Step);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;

        int batch = Math.Min(options.BatchSize, tiles.Tiles.Count);
        var (indices, epoch) = BatchIndices(tiles.Tiles.Count, batch, Step, options.Seed);
        var images = TileBatch.Batch(tiles, indices).to(model.Device);
        var valid = TileBatch.ValidPixels(tiles, indices)?.to(model.Device);
        if (options.Augment)
        {
            // The validity mask turns with its tile: augment it as one more channel.
            var turned = Augment(valid is null ? images : cat([images, valid], 1), new Random(Seeds.Derive(options.Seed, Step, 2)));
            images = valid is null ? turned : turned[.., ..^1];
            valid = valid is null ? null : turned[.., ^1..];
        }
        using var masks = new Generator((ulong)Seeds.Derive(options.Seed, Step, 3));
        optimizer.zero_grad();
        using var output = model.call(images, model.SampleMasking(batch, masks));
        using var loss = KarmaLoss.Compute(output, model.Targets(images), model.Config,
                                           valid is null ? null : Patches.Patchify(valid, model.Config.PatchSize));
        loss.Total.backward();
        double gradNorm = nn.utils.clip_grad_norm_(parameters, options.ClipNorm);
        optimizer.step();

        var (spread, entropy) = output.Abundances is { } a ? AbundanceDiagnostics(a) : (null, null);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var record = new StepRecord(Step, epoch, loss.Total.item<float>(), loss.Huber.item<float>(),
            loss.SpectralAngle?.item<float>(), loss.Physics?.item<float>(), lr, gradNorm, batch / seconds, spread, entropy);
        if (!double.IsFinite(record.Loss))
            throw new KarmaException($"The loss became {record.Loss} at step {Step}. Lower the learning rate (--lr) or check the data for extreme values.");
        Step++;
        return record;
    }

    /// <summary>
    /// The tiles of step <paramref name="step"/>: the step's slice of an endless sequence of epochs, each a
    /// permutation of all tiles seeded by (seed, epoch). Depends on nothing but its arguments.
    /// </summary>
    public static (int[] Indices, int Epoch) BatchIndices(int count, int batch, int step, int seed)
    {
        var result = new int[batch];
        int[]? permutation = null;
        int permutationEpoch = -1;
        for (int i = 0; i < batch; i++)
        {
            long k = (long)step * batch + i;
            int epoch = (int)(k / count);
            if (epoch != permutationEpoch)
            {
                permutation = Enumerable.Range(0, count).ToArray();
                new Random(Seeds.Derive(seed, epoch, 1)).Shuffle(permutation);
                permutationEpoch = epoch;
            }
            result[i] = permutation![k % count];
        }
        return (result, (int)((long)step * batch / count));
    }

    /// <summary>Each tile turned by one of the 8 flips/rotations of the square (spectra are untouched).</summary>
    static Tensor Augment(Tensor images, Random random)
    {
        var turned = new Tensor[images.shape[0]];
        for (int i = 0; i < turned.Length; i++) turned[i] = TileBatch.Turn(images[i], random.Next(8));
        return stack(turned);
    }

    /// <summary>
    /// How different the abundances are across pixels and patches: the mean over endmembers of their standard
    /// deviation, and the mean entropy normalised by log M (1 = uniform mixture everywhere). A spread near 0
    /// is the abundance collapse the paper warns about.
    /// </summary>
    static (double? Spread, double? Entropy) AbundanceDiagnostics(Tensor abundances)
    {
        using var _ = no_grad();
        long m = abundances.shape[^1];
        // [B, N, M, k]: the layout the branch's softmax wrote, so these reductions run along contiguous pixels
        // (reducing over a last dimension of M = 6 instead took 2 ms a step on the small preset).
        var byEndmember = abundances.detach().transpose(2, 3);
        double spread = byEndmember.std([0L, 1L, 3L]).mean().item<float>();
        double entropy = -(byEndmember * (byEndmember + 1e-12).log()).sum(2).mean().item<float>() / Math.Log(Math.Max(2, m));
        return (spread, entropy);
    }

    /// <summary>Writes the optimiser's moments and the step counter into <paramref name="directory"/>.</summary>
    public void SaveState(string directory)
    {
        optimizer.save_state_dict(Path.Combine(directory, OptimizerFile));
        File.WriteAllText(Path.Combine(directory, StateFile), JsonSerializer.Serialize(new TrainerState(Step, options)));
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote; the model's weights are restored separately.</summary>
    public void LoadState(string directory)
    {
        string state = Path.Combine(directory, StateFile), moments = Path.Combine(directory, OptimizerFile);
        if (!File.Exists(state) || !File.Exists(moments))
            throw new KarmaException(directory, $"holds no training state ({StateFile}, {OptimizerFile}); it cannot be resumed.");
        var saved = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(state))
                    ?? throw new KarmaException(state, "is empty.");
        try { optimizer.load_state_dict(moments); }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or EndOfStreamException)
        {
            throw new KarmaException(moments, $"does not match this model's parameters ({e.Message}); the checkpoint is from another model or damaged.", e);
        }
        Step = saved.Step;
    }

    sealed record TrainerState(int Step, TrainingOptions Options);

    /// <inheritdoc/>
    public void Dispose() => optimizer.Dispose();
}
