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
    readonly Runtime.ICommunicator communicator;

    /// <summary>Steps taken so far (the next step's number).</summary>
    public int Step { get; private set; }

    /// <summary>
    /// Prepares to train <paramref name="model"/> with <paramref name="options"/>. With a <paramref name="communicator"/> of
    /// several ranks (MPI), training is data-parallel: each step takes <see cref="TrainingOptions.BatchSize"/> tiles per
    /// rank out of one global batch of BatchSize × ranks tiles drawn, turned and masked exactly as a single process with
    /// that batch would, and the ranks' gradients are summed (each weighted by its share of the batch) before clipping and
    /// the update, so every rank keeps the same weights and the result equals one process with the global batch.
    /// </summary>
    public Pretrainer(KarmaModel model, TrainingOptions options, Runtime.ICommunicator? communicator = null)
    {
        this.model = model;
        this.options = options;
        this.communicator = communicator ?? Runtime.SingleProcess.Instance;
        var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        parameters = named.Select(p => p.parameter).ToList();
        static bool Decays((string name, Parameter p) x) => x.p.dim() >= 2 && !x.name.Contains("maskToken") && !x.name.Contains("endmember");
        // With the physics branch in one step of every k, AdamW's second moment sees the branch's own parameters' gradient k
        // times larger once every k steps and zero between, so their normalised step shrinks by √k: they get √k times the
        // learning rate to move as far per step as they would with the branch every step. Their own groups exist only then.
        bool lazy = model.Physics is not null && model.Config.PhysicsEvery > 1;
        static bool InBranch((string name, Parameter p) x) => x.name.StartsWith("physics.", StringComparison.Ordinal);
        var groups = new List<(AdamW.ParamGroup Group, double Scale)>();
        foreach (bool branch in lazy ? new[] { false, true } : [false])
        {
            var members = named.Where(x => !lazy || InBranch(x) == branch).ToList();
            double scale = branch ? Math.Sqrt(model.Config.PhysicsEvery) : 1;
            // AdamW's decay is lr·wd a step: the branch's is divided by √k so that its higher rate does not decay it faster.
            groups.Add((new AdamW.ParamGroup(members.Where(Decays).Select(x => x.parameter), options.LearningRate, beta2: 0.999, weight_decay: options.WeightDecay / scale), scale));
            groups.Add((new AdamW.ParamGroup(members.Where(x => !Decays(x)).Select(x => x.parameter), options.LearningRate, beta2: 0.999, weight_decay: 0), scale));
        }
        parameterGroups = groups.ToArray();
        optimizer = new LeanAdamW(groups.Select(g => g.Group), options.LearningRate);
    }

    /// <summary>The optimiser's parameter groups, each with its learning rate over the schedule's (<see cref="KarmaConfig.PhysicsEvery"/>: √k for the physics branch's own).</summary>
    readonly (AdamW.ParamGroup Group, double Scale)[] parameterGroups;

    /// <summary>The parameter groups at the last step taken: learning rate, weight decay and members (tests read the physics branch's).</summary>
    internal IReadOnlyList<(double LearningRate, double WeightDecay, IReadOnlyList<Parameter> Parameters)> ParameterGroups =>
        optimizer.ParamGroups.Zip(parameterGroups, (used, g) => (used.LearningRate, g.Group.Options.weight_decay!.Value, (IReadOnlyList<Parameter>)g.Group.Parameters.ToList())).ToArray();

    /// <summary>
    /// Trains from <see cref="Step"/> to <see cref="TrainingOptions.Steps"/>, reporting each step to
    /// <paramref name="onStep"/>. A fresh run (step 0) first sets the model's band statistics from the tiles.
    /// </summary>
    public IReadOnlyList<StepRecord> Train(TileSet tiles, Action<StepRecord>? onStep = null) => Train([tiles], onStep);

    /// <summary>
    /// Trains on tiles of several band sets, one <see cref="TileSet"/> per set (a wavelength-aware model pretrained across
    /// sensors); every batch comes from one set (<see cref="GroupedBatch"/>).
    /// </summary>
    public IReadOnlyList<StepRecord> Train(IReadOnlyList<TileSet> groups, Action<StepRecord>? onStep = null)
    {
        Check(groups);
        if (Step == 0) InitialiseFromData(groups);
        SynchroniseWeights();
        var log = new List<StepRecord>();
        while (Step < options.Steps)
        {
            var record = TrainStep(groups);
            log.Add(record);
            onStep?.Invoke(record);
        }
        model.eval();
        return log;
    }

    /// <summary>
    /// What a fresh run learns from the data before the first step: statistics for standardising the encoder input (per
    /// band, or per grid wavelength for a wavelength-aware model, pooled over the band sets) and, for the physics branch,
    /// endmembers from vertex component analysis of training pixels (of the band set spanning the widest range, carried
    /// onto the grid for a wavelength-aware model) or from a spectral library.
    /// </summary>
    void InitialiseFromData(IReadOnlyList<TileSet> groups)
    {
        var cfg = model.Config;
        if (cfg.ByWavelength)
        {
            var (mean, std) = GridStatistics(groups);
            model.SetBandStatistics(mean, std);
        }
        else
        {
            var (mean, std) = groups[0].BandStatistics();
            model.SetBandStatistics(mean, std);
        }
        if (model.Physics is not { } physics) return;
        var widest = groups.OrderByDescending(g => g.Wavelengths is { } w ? w.Max() - w.Min() : 0).ThenByDescending(g => g.Tiles.Count).First();
        float[,] endmembers;
        switch (cfg.EndmemberInit)
        {
            case EndmemberInitialisation.Vca:
                (endmembers, _) = Unmixing.VertexComponentAnalysis.Extract(widest.SamplePixels(4096, options.Seed), cfg.Endmembers, options.Seed);
                if (cfg.ByWavelength) endmembers = OnGrid(endmembers, widest.Spectral!);
                break;
            case EndmemberInitialisation.Library:
                var library = Unmixing.SpectralLibrary.Read(cfg.EndmemberLibrary ?? throw new InvalidSettingException("Library endmember initialisation needs a library path."));
                var resampled = library.ResampleTo(cfg.ByWavelength ? SpectralGrid.Centres
                    : widest.Wavelengths ?? throw new BandMismatchException("The training scenes have no wavelengths, so a spectral library cannot be resampled to them."));
                if (resampled.GetLength(1) != cfg.Endmembers)
                    throw new InvalidSettingException(library.Path, $"holds {resampled.GetLength(1)} spectra but the model has M = {cfg.Endmembers}; set the endmember count to {resampled.GetLength(1)}.") { Settings = ["Endmembers"] };
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

    /// <summary>
    /// Per-wavelength mean and standard deviation on the grid: each band set's per-band statistics interpolated along its
    /// sorted centres, averaged over the sets that cover a grid point (weighted by their tiles); points no set covers take
    /// the nearest covered point's values.
    /// </summary>
    public static (float[] Mean, float[] Std) GridStatistics(IReadOnlyList<TileSet> groups)
    {
        int g = SpectralGrid.Points;
        var sum = new double[2, g];
        var weight = new double[g];
        foreach (var group in groups)
        {
            var bands = group.Spectral ?? throw new BandMismatchException("A wavelength-aware model needs every training scene's band wavelengths.");
            var (mean, std) = group.BandStatistics();
            var gm = SpectralGrid.FromBands(mean.Select(v => (double)v).ToArray(), bands, coveredOnly: true);
            var gs = SpectralGrid.FromBands(std.Select(v => (double)v).ToArray(), bands, coveredOnly: true);
            for (int i = 0; i < g; i++)
                if (!double.IsNaN(gm[i])) { sum[0, i] += gm[i] * group.Tiles.Count; sum[1, i] += gs[i] * group.Tiles.Count; weight[i] += group.Tiles.Count; }
        }
        var covered = Enumerable.Range(0, g).Where(i => weight[i] > 0).ToArray();
        if (covered.Length == 0) throw new KarmaException("No training tiles to compute statistics from.");
        var resultMean = new float[g];
        var resultStd = new float[g];
        for (int i = 0; i < g; i++)
        {
            int from = weight[i] > 0 ? i : covered.MinBy(c => Math.Abs(c - i));
            resultMean[i] = (float)(sum[0, from] / weight[from]);
            resultStd[i] = (float)(sum[1, from] / weight[from]);
        }
        return (resultMean, resultStd);
    }

    /// <summary>Spectra [bands, M] at <paramref name="bands"/> carried onto the grid [grid, M] (<see cref="SpectralGrid.FromBands"/>).</summary>
    static float[,] OnGrid(float[,] spectra, SpectralBands bands)
    {
        int m = spectra.GetLength(1);
        var result = new float[SpectralGrid.Points, m];
        for (int j = 0; j < m; j++)
        {
            var column = Enumerable.Range(0, spectra.GetLength(0)).Select(b => (double)spectra[b, j]).ToArray();
            var grid = SpectralGrid.FromBands(column, bands);
            for (int i = 0; i < grid.Length; i++) result[i, j] = (float)grid[i];
        }
        return result;
    }

    void Check(IReadOnlyList<TileSet> groups)
    {
        if (groups.Count == 0 || groups.All(g => g.Tiles.Count == 0))
            throw new KarmaException("No training tiles: the scenes are smaller than one tile or every tile had too much no-data.");
        foreach (var tiles in groups)
        {
            if (tiles.TileSize != model.Config.TileSize)
                throw new InvalidSettingException($"Tiles are {tiles.TileSize}² but the model expects {model.Config.TileSize}².");
            if (!model.Config.ByWavelength && tiles.Bands != model.Config.Bands)
                throw new BandMismatchException($"Tiles have {tiles.Bands} bands but the model expects {model.Config.Bands}; a fixed-band model trains on one band set " +
                                         "(train a wavelength-aware model, spectral embedding 'wavelength', to mix sensors).") { Settings = ["SpectralEmbedding"] };
            if (model.Config.ByWavelength && tiles.Spectral is null)
                throw BandDescription.Missing(tiles.Tiles.FirstOrDefault()?.Scene ?? "a training scene");
        }
    }

    /// <summary>One optimiser step on the batch this step's number selects.</summary>
    public StepRecord TrainStep(TileSet tiles) => TrainStep([tiles]);

    /// <summary>One optimiser step on the batch this step's number selects from one of the band sets.</summary>
    public StepRecord TrainStep(IReadOnlyList<TileSet> groups)
    {
        Check(groups);
        model.train();
        long start = Stopwatch.GetTimestamp();
        using var scope = NewDisposeScope();
        double lr = options.LearningRateAt(Step);
        foreach (var (parameterGroup, scale) in parameterGroups) parameterGroup.LearningRate = lr * scale;

        // One global batch for all ranks; this rank takes its contiguous share of the tiles, their turns and their masks.
        var (group, global, epoch) = GroupedBatch(groups.Select(g => g.Tiles.Count).ToArray(), options.BatchSize * communicator.Size, Step, options.Seed);
        var tiles = groups[group];
        int from = communicator.Rank * global.Length / communicator.Size, to = (communicator.Rank + 1) * global.Length / communicator.Size;
        var indices = global[from..to];
        int batch = indices.Length;
        double share = batch / (double)global.Length;
        var turns = new Random(Seeds.Derive(options.Seed, Step, 2));
        var k = global.Select(_ => turns.Next(8)).ToArray()[from..to];
        using var masks = new Generator((ulong)Seeds.Derive(options.Seed, Step, 3));
        var masking = model.SampleMasking(global.Length, masks).Rows(from, to);
        optimizer.zero_grad();
        // With PhysicsEvery = k the branch runs on every k-th step only, its terms weighted by k (the same on every rank).
        int every = model.Config.PhysicsEvery;
        bool physicsStep = model.Physics is not null && Step % every == 0;
        double physicsScale = physicsStep ? every : 1;
        LossTerms? loss = null;
        KarmaOutput? output = null;
        if (batch > 0)
        {
            // Each tile, and its validity mask with it, is written already turned by its augmentation.
            var turnsOfBatch = options.Augment ? k : null;
            var images = TileBatch.Batch(tiles, indices, turnsOfBatch).to(model.Device);
            var valid = TileBatch.ValidPixels(tiles, indices, turnsOfBatch)?.to(model.Device);
            output = model.Forward(images, tiles.Spectral, masking, physicsStep);
            loss = KarmaLoss.Compute(output, output.Targets ?? model.Targets(images), model.Config,
                                     valid is null ? null : Patches.Patchify(valid, model.Config.PatchSize), physicsScale);
            loss.Total.backward();
        }
        var terms = AverageTerms(loss, share, physicsScale);
        // A step without the branch gives its parameters a zero gradient, not none, so AdamW's moments carry them on. In an
        // uninterrupted run they are zeros anyway (zero_grad keeps a gradient once it exists), and SumGradients fills absent
        // ones with zeros; a process resumed between two of the branch's steps has none yet and must do the same.
        if (model.Physics is { } branch && !physicsStep)
            foreach (var p in branch.parameters())
                if (p.requires_grad && p.grad is null) p.grad = zeros_like(p).DetachFromDisposeScope();
        double? allReduce = null;
        if (communicator.Size > 1)
        {
            long before = Stopwatch.GetTimestamp();
            SumGradients(share);
            allReduce = Stopwatch.GetElapsedTime(before).TotalSeconds;
        }
        double gradNorm = GradientClipping.ClipTotalNorm(parameters, options.ClipNorm);
        optimizer.step();

        var (spread, entropy) = output?.Abundances is { } a ? AbundanceDiagnostics(a) : (null, null);
        output?.Dispose();
        loss?.Dispose();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var record = new StepRecord(Step, epoch, terms[0], terms[1], model.Config.UsesSam ? terms[2] : null, physicsStep ? terms[3] : null,
            lr, gradNorm, global.Length / seconds, spread, entropy, allReduce);
        if (!double.IsFinite(record.Loss))
            throw new KarmaException($"The loss became {record.Loss} at step {Step}. Lower the learning rate or check the data for extreme values.") { Settings = ["LearningRate"] };
        Step++;
        return record;
    }

    /// <summary>Optimiser steps in one pass over every band set's tiles (<see cref="GroupedBatch"/>).</summary>
    public static int StepsPerEpoch(IReadOnlyList<int> counts, int batch) =>
        counts.Count == 1 ? (int)Math.Ceiling(counts[0] / (double)Math.Min(batch, counts[0]))
                          : counts.Where(n => n > 0).Sum(n => (int)Math.Ceiling(n / (double)Math.Min(batch, n)));

    /// <summary>
    /// The band set and tiles of step <paramref name="step"/> when tiles come in sets that cannot share a batch. One set:
    /// exactly <see cref="BatchIndices"/>. Several: each epoch cuts every set's seeded permutation into batches of
    /// min(batch, set size) (the last one topped up from the permutation's start), shuffles all those batches together,
    /// and takes them in turn, so every tile is seen once per epoch and sets are visited in proportion to their size.
    /// Depends on nothing but its arguments.
    /// </summary>
    public static (int Group, int[] Indices, int Epoch) GroupedBatch(IReadOnlyList<int> counts, int batch, int step, int seed)
    {
        if (counts.Count == 1)
        {
            var (one, e) = BatchIndices(counts[0], Math.Min(batch, counts[0]), step, seed);
            return (0, one, e);
        }
        int perEpoch = StepsPerEpoch(counts, batch);
        int epoch = step / perEpoch, within = step % perEpoch;
        var chunks = new List<(int Group, int Chunk)>();
        for (int g = 0; g < counts.Count; g++)
            for (int k = 0; k * Math.Min(batch, counts[g]) < counts[g]; k++) chunks.Add((g, k));
        var order = chunks.ToArray();
        new Random(Seeds.Derive(seed, epoch, 6)).Shuffle(order);
        var (group, chunk) = order[within];
        int n = counts[group], size = Math.Min(batch, n);
        var permutation = Enumerable.Range(0, n).ToArray();
        new Random(Seeds.Derive(seed, (long)epoch * 4096 + group, 7)).Shuffle(permutation);
        return (group, Enumerable.Range(0, size).Select(i => permutation[(chunk * size + i) % n]).ToArray(), epoch);
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

    /// <summary>
    /// The step's loss terms (total, Huber, SAM, physics) over the global batch: each rank's weighted by its share, summed.
    /// The total is the objective with the physics terms at their own weights, without the <paramref name="physicsScale"/>
    /// the step's gradient gave them: on the branch's steps it is what a run with the branch in every step would log.
    /// </summary>
    float[] AverageTerms(LossTerms? loss, double share, double physicsScale)
    {
        var terms = new float[4];
        if (loss is not null)
        {
            double total = loss.Total.item<float>(), physics = loss.Physics?.item<float>() ?? 0;
            if (physicsScale != 1)
                total -= (physicsScale - 1) * (model.Config.PhysicsWeight * physics
                                               + model.Config.CrossConsistencyWeight * (loss.CrossConsistency?.item<float>() ?? 0));
            terms[0] = (float)(total * share);
            terms[1] = (float)(loss.Huber.item<float>() * share);
            terms[2] = (float)((loss.SpectralAngle?.item<float>() ?? 0) * share);
            terms[3] = (float)(physics * share);
        }
        communicator.SumInPlace(terms);
        return terms;
    }

    /// <summary>Every rank's gradients weighted by its share of the batch and summed across ranks, in one flat all-reduce.</summary>
    void SumGradients(double share)
    {
        using var scope = NewDisposeScope();
        var grads = parameters.Select(p => p.grad is { } g ? g.view(-1) : zeros(p.numel(), device: p.device)).ToArray();
        var flat = (cat(grads) * share).cpu().contiguous();
        var values = flat.data<float>().ToArray();
        communicator.SumInPlace(values);
        var summed = tensor(values).to(parameters[0].device);
        long at = 0;
        using var _ = no_grad();
        foreach (var p in parameters)
        {
            long n = p.numel();
            var part = summed.narrow(0, at, n).view(p.shape);
            if (p.grad is { } g) g.copy_(part);
            else p.grad = part.clone().DetachFromDisposeScope();
            at += n;
        }
    }

    /// <summary>
    /// Whether every rank holds rank 0's weights, bit for bit: each parameter's sum is compared with rank 0's (a collective
    /// call: every rank must make it).
    /// </summary>
    public bool RanksAgree()
    {
        using var _ = no_grad();
        var sums = parameters.Select(p => p.sum().item<float>()).ToArray();
        var lead = (float[])sums.Clone();
        communicator.Broadcast(lead);
        float[] differing = [sums.Zip(lead).Count(x => x.First != x.Second && !(float.IsNaN(x.First) && float.IsNaN(x.Second)))];
        communicator.SumInPlace(differing);
        return differing[0] == 0;
    }

    /// <summary>Rank 0's parameters and buffers on every rank (a fresh or resumed run starts all ranks alike).</summary>
    void SynchroniseWeights()
    {
        if (communicator.Size == 1) return;
        using var _ = no_grad();
        foreach (var (_, t) in model.state_dict())
        {
            if (t.dtype != ScalarType.Float32) continue;
            using var cpu = t.cpu().contiguous();
            var values = cpu.data<float>().ToArray();
            communicator.Broadcast(values);
            using var back = tensor(values).view(t.shape).to(t.device);
            t.copy_(back);
        }
    }

    /// <summary>
    /// How different the abundances are across pixels and patches: the mean over endmembers of their standard
    /// deviation, and the mean entropy normalised by log M (1 = uniform mixture everywhere). A spread near 0
    /// is the abundance collapse the paper warns about.
    /// </summary>
    internal static (double? Spread, double? Entropy) AbundanceDiagnostics(Tensor abundances)
    {
        using var _ = no_grad();
        long m = abundances.shape[^1];
        if (abundances.device_type == DeviceType.CPU && abundances.dtype == ScalarType.Float32 && abundances.is_contiguous())
            return AbundanceDiagnosticsOnCpu(abundances, (int)m);
        // [B, N, M, k]: the layout the branch's softmax wrote, so these reductions run along contiguous pixels
        // (reducing over a last dimension of M = 6 instead took 2 ms a step on the small preset).
        var byEndmember = abundances.detach().transpose(2, 3);
        double spread = byEndmember.std([0L, 1L, 3L]).mean().item<float>();
        double entropy = -(byEndmember * (byEndmember + 1e-12).log()).sum(2).mean().item<float>() / Math.Log(Math.Max(2, m));
        return (spread, entropy);
    }

    /// <summary>
    /// The same two numbers in one pass over contiguous [..., M] abundances (what the FCLS steps return): libtorch's
    /// reductions along a last dimension of M ≈ 5, or across it through a transposed view, cost a millisecond or two a step.
    /// </summary>
    static unsafe (double? Spread, double? Entropy) AbundanceDiagnosticsOnCpu(Tensor abundances, int m)
    {
        long pixels = abundances.numel() / m;
        float* values = (float*)CpuKernels.Address(abundances);
        // Per block of pixels: Σa and Σa² per endmember, then Σ −a·log a; blocks in parallel, summed in block order.
        int blocks = CpuKernels.FixedBlocks(pixels, 4096);
        var partial = new double[blocks, 2 * m + 1];
        CpuKernels.ForEachFixedBlock(pixels, 4096, (block, from, to) =>
        {
            Span<double> sums = stackalloc double[2 * m + 1];
            sums.Clear();
            for (long i = from; i < to; i++)
            {
                float pixelEntropy = 0;
                for (int j = 0; j < m; j++)
                {
                    float a = values[i * m + j];
                    sums[j] += a;
                    sums[m + j] += a * a;
                    pixelEntropy -= a * MathF.Log(a + 1e-12f);
                }
                sums[2 * m] += pixelEntropy;
            }
            for (int k = 0; k < sums.Length; k++) partial[block, k] = sums[k];
        });
        double spread = 0, entropy = 0;
        for (int j = 0; j < m; j++)                       // unbiased standard deviation per endmember, as torch.std
        {
            double sum = 0, squares = 0;
            for (int block = 0; block < blocks; block++) (sum, squares) = (sum + partial[block, j], squares + partial[block, m + j]);
            spread += Math.Sqrt(Math.Max(0, (squares - sum * sum / pixels) / Math.Max(1, pixels - 1)));
        }
        for (int block = 0; block < blocks; block++) entropy += partial[block, 2 * m];
        return (spread / m, entropy / pixels / Math.Log(Math.Max(2, m)));
    }

    /// <summary>Writes the optimiser's moments and the step counter into <paramref name="directory"/>.</summary>
    public void SaveState(string directory)
    {
        optimizer.save_state_dict(Path.Combine(directory, OptimizerFile));
        File.WriteAllText(Path.Combine(directory, StateFile), JsonSerializer.Serialize(new TrainerState(Step, options, ModelCheckpoint.Sha256(Path.Combine(directory, OptimizerFile)))));
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote; the model's weights are restored separately.</summary>
    public void LoadState(string directory)
    {
        string state = Path.Combine(directory, StateFile), moments = Path.Combine(directory, OptimizerFile);
        if (!File.Exists(state) || !File.Exists(moments))
            throw new RunFolderException(directory, $"holds no training state ({StateFile}, {OptimizerFile}); it cannot be resumed.");
        TrainerState saved;
        try { saved = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(state)) ?? throw new RunFolderException(state, "is empty."); }
        catch (JsonException e) { throw new RunFolderException(state, $"is damaged ({KarmaException.Quote(e.Message)}); resume from an intact checkpoint or start again.", e); }
        if (saved.Step < 0 || saved.Step > options.Steps)
            throw new RunFolderException(state, $"records step {saved.Step}, outside this run's 0–{options.Steps}; the file is damaged.");
        try { optimizer.load_state_dict(moments); }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or EndOfStreamException or IOException or IndexOutOfRangeException or OverflowException)
        {
            throw new RunFolderException(moments, $"does not match this model's parameters ({KarmaException.Quote(e.Message)}); the checkpoint is from another model or damaged.", e);
        }
        if (saved.OptimizerSha256 is { } expected && !string.Equals(ModelCheckpoint.Sha256(moments), expected, StringComparison.OrdinalIgnoreCase))
            throw new RunFolderException(moments, $"is damaged: its SHA-256 is not the one recorded in {StateFile}.");
        Step = saved.Step;
    }

    sealed record TrainerState(int Step, TrainingOptions Options, string? OptimizerSha256 = null);

    /// <inheritdoc/>
    public void Dispose() => optimizer.Dispose();
}
