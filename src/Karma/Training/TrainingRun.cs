using TorchSharp;
using System.Text.Json;
using Karma.Data;
using Karma.Evaluation;
using Karma.Model;
using static TorchSharp.torch;

namespace Karma.Training;

/// <summary>Everything that defines a pretraining run; saved as <c>run.json</c> so the run can be resumed.</summary>
public sealed record RunSpec
{
    /// <summary>Model architecture and loss weights (bands are set from the data).</summary>
    public required KarmaConfig Config { get; init; }
    /// <summary>Optimiser, schedule, seed, steps.</summary>
    public TrainingOptions Training { get; init; } = new();
    /// <summary>How scenes are tiled.</summary>
    public required TilingOptions Tiling { get; init; }
    /// <summary>Training scenes; empty means a simulated scene written into the run folder.</summary>
    public string[] Data { get; init; } = [];
    /// <summary>Held-out scenes for validation; empty means the bottom rows of each training scene.</summary>
    public string[] Holdout { get; init; } = [];
    /// <summary>Fraction of each scene's rows held out when no <see cref="Holdout"/> scenes are given.</summary>
    public double ValidationFraction { get; init; } = 0.25;
    /// <summary>When set, train for this many passes over the training tiles instead of <see cref="TrainingOptions.Steps"/>.</summary>
    public int? Epochs { get; init; }
}

/// <summary>
/// What a finished run reports: held-out metrics, warnings, and where everything was written; for a data-parallel run,
/// the number of ranks and whether every rank ended with rank 0's weights.
/// </summary>
public sealed record RunResult(ReconstructionMetrics Metrics, IReadOnlyList<string> Warnings, int TrainTiles, int ValidationTiles, bool ValidatedOnTraining,
                               int Ranks = 1, bool? RanksAgree = null);

/// <summary>
/// A pretraining run in a folder: <c>run.json</c> (the spec), <c>checkpoint/</c> (model, optimiser and step,
/// replaced atomically every <see cref="TrainingOptions.CheckpointEvery"/> steps and at the end),
/// <c>train.jsonl</c> (one line per step), <c>validation.jsonl</c> (held-out metrics during training) and
/// <c>metrics.json</c> (final held-out metrics and warnings), and the same curves as TensorBoard event files in
/// <c>tensorboard/</c>. Cancelling the token stops after the current step with a checkpoint of that step. <see cref="Resume"/> continues from the last
/// checkpoint and rewrites the logs from there, so the finished folder equals an uninterrupted run's.
/// </summary>
public static class TrainingRun
{
    /// <summary>
    /// Starts a new run of <paramref name="spec"/> in <paramref name="directory"/>. A folder that already holds a
    /// run is refused unless <paramref name="overwrite"/> is set, so a typo never destroys a finished run.
    /// </summary>
    public static RunResult Start(RunSpec spec, string directory, Action<StepRecord>? onStep = null, bool overwrite = false, CancellationToken cancel = default)
    {
        if (Runtime.Communicator.Current.Rank != 0)
        {
            // Another rank of a data-parallel job: rank 0 owns the folder; this one only trains.
            if (spec.Data.Length == 0) throw new InvalidSettingException("A data-parallel run needs training scenes (the simulated scene is made by one process only).") { Settings = ["Data"] };
            return Guarded(directory, () => Execute(spec with { Data = spec.Data.Select(BandDescription.Absolute).ToArray(), Holdout = spec.Holdout.Select(BandDescription.Absolute).ToArray() },
                                                    directory, resume: false, onStep, cancel));
        }
        if (File.Exists(directory)) throw new RunFolderException(directory, "is a file; a run needs a folder (choose another output folder).") { Settings = ["Out"] };
        if (!overwrite && File.Exists(Path.Combine(directory, "run.json")))
            throw new RunFolderException(directory, "already holds a run. Resume it, choose another output folder, or overwrite it.") { Settings = ["Resume", "Out", "Overwrite"] };
        try { Directory.CreateDirectory(directory); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunFolderException(directory, $"cannot be created as a run folder ({KarmaException.Quote(e.Message)}).", e);
        }
        using var held = Lock(directory);
        if (spec.Data.Length == 0)
        {
            string simulated = new SceneSimulator { Size = 128, Bands = 218, Endmembers = 5, Seed = 1 }.Generate().WriteTo(Path.Combine(directory, "simulated"));
            spec = spec with { Data = [Path.GetFullPath(simulated)] };
        }
        spec = spec with { Data = spec.Data.Select(BandDescription.Absolute).ToArray(), Holdout = spec.Holdout.Select(BandDescription.Absolute).ToArray() };
        AtomicFiles.WriteText(Path.Combine(directory, "run.json"), JsonSerializer.Serialize(spec, KarmaJson.Indented));
        foreach (var log in new[] { "train.jsonl", "validation.jsonl" }) File.Delete(Path.Combine(directory, log));
        return Guarded(directory, () => Execute(spec, directory, resume: false, onStep, cancel));
    }

    /// <summary>Continues the run in <paramref name="directory"/> from its last checkpoint.</summary>
    public static RunResult Resume(string directory, Action<StepRecord>? onStep = null, CancellationToken cancel = default)
    {
        var spec = ReadSpec(directory);
        using var held = Runtime.Communicator.Current.Rank == 0 ? Lock(directory) : null;
        return Guarded(directory, () => Execute(spec, directory, resume: true, onStep, cancel));
    }

    /// <summary>Training whose logs or outputs the file system refuses (disk full) stops with one line; checkpoints are replaced atomically, so the last one stays whole.</summary>
    static RunResult Guarded(string directory, Func<RunResult> run)
    {
        try { return run(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunFolderException(directory, $"could not be written ({KarmaException.Quote(e.Message)}); its last complete checkpoint is unchanged, and the run can be resumed from it once there is space.", e) { Settings = ["Resume"] };
        }
    }

    /// <summary>
    /// Holds <c>run.lock</c> in <paramref name="directory"/> for as long as the returned handle lives, so a second
    /// <c>pretrain</c> or <c>--resume</c> on the same folder is refused while one runs. The lock is the operating system's
    /// (an exclusively opened file): a killed process loses it, so a stale lock file is simply taken over.
    /// </summary>
    public static IDisposable Lock(string directory)
    {
        string path = Path.Combine(directory, "run.lock");
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            stream.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n");
            stream.Write(pid);
            stream.Flush();
            return stream;
        }
        catch (IOException e)
        {
            throw new RunFolderException(directory, $"is in use by another karma process (it holds {path}); wait for it to finish, or stop it first ({KarmaException.Quote(e.Message)}).", e);
        }
    }

    /// <summary>The spec of the run in <paramref name="directory"/>.</summary>
    public static RunSpec ReadSpec(string directory)
    {
        string path = Path.Combine(directory, "run.json");
        if (!File.Exists(path)) throw new RunFolderException(directory, "is not a Karma run folder (run.json is missing); give a folder that pretraining wrote.");
        try { return JsonSerializer.Deserialize<RunSpec>(File.ReadAllText(path), KarmaJson.Indented) ?? throw new RunFolderException(path, "is empty."); }
        catch (JsonException e) { throw new RunFolderException(path, $"is not a valid run description: {e.Message}", e); }
    }

    /// <summary>
    /// Training and validation tiles for <paramref name="spec"/>, one set per band set (a fixed-band model takes only one).
    /// Validation comes from the <see cref="RunSpec.Holdout"/> scenes or, without them, from the bottom rows of each scene
    /// (<see cref="RunSpec.ValidationFraction"/>); scenes too small for a separate block of rows (one tile tall) are held
    /// out whole instead: that fraction of them, spread evenly over the scenes sorted by path.
    /// </summary>
    public static (IReadOnlyList<TileSet> Train, IReadOnlyList<TileSet> Validation) LoadTiles(RunSpec spec)
    {
        var train = new List<TileSet>();
        var validation = new List<TileSet>();
        TileSet Tiles(string path)
        {
            using var scene = HyperspectralScene.Open(path);
            return TileSet.FromScene(scene, spec.Tiling);
        }
        if (spec.Holdout.Length > 0)
        {
            train.AddRange(spec.Data.Select(Tiles));
            validation.AddRange(spec.Holdout.Select(Tiles));
        }
        else
        {
            var small = new List<(string Path, TileSet Tiles)>();
            foreach (var path in spec.Data)
            {
                using var scene = HyperspectralScene.Open(path);
                var all = TileSet.FromScene(scene, spec.Tiling);
                var (t, v) = all.SplitByRows(scene.Lines, spec.ValidationFraction);
                if (t.Tiles.Count == 0 && all.Tiles.Count > 0) small.Add((path, all));
                else { train.Add(t); validation.Add(v); }
            }
            var ordered = small.OrderBy(x => x.Path, StringComparer.Ordinal).ToList();
            int n = ordered.Count, heldOut = n < 2 ? 0 : Math.Max(1, (int)Math.Round(n * spec.ValidationFraction));
            for (int i = 0; i < n; i++)
                ((i + 1) * heldOut / n > i * heldOut / n ? validation : train).Add(ordered[i].Tiles);   // evenly spread
        }
        if (spec.Data.Length == 0) throw new InvalidSettingException("No training scenes were given.");
        var trainSets = TileSet.Merge(train);
        if (!spec.Config.ByWavelength && trainSets.Count > 1)
            throw new BandMismatchException(trainSets[1].Tiles[0].Scene,
                $"has {trainSets[1].Bands} usable bands ({trainSets[1].Spectral?.ToString() ?? "no wavelengths"}) but {trainSets[0].Tiles[0].Scene} has {trainSets[0].Bands}; " +
                "a fixed-band model trains on one band set. Use scenes with the same bands, resample them, or train a wavelength-aware model (spectral embedding 'wavelength').") { Settings = ["SpectralEmbedding"] };
        return (trainSets, TileSet.Merge(validation));
    }

    static RunResult Execute(RunSpec spec, string directory, bool resume, Action<StepRecord>? onStep, CancellationToken cancel)
    {
        var communicator = Runtime.Communicator.Current;
        bool lead = communicator.Rank == 0;   // only rank 0 writes logs, checkpoints and metrics
        var (train, validation) = LoadTiles(spec);
        int trainTiles = train.Sum(t => t.Tiles.Count), validationTiles = validation.Sum(t => t.Tiles.Count);
        if (trainTiles == 0)
            throw new InvalidSettingException($"No training tiles of {spec.Tiling.TileSize}² in {string.Join(", ", spec.Data)}: the scenes are too small or mostly no-data. Use a smaller tile size.") { Settings = ["TileSize"] };
        bool validatedOnTraining = validationTiles == 0;
        var evaluation = validatedOnTraining ? train : validation;
        var config = spec.Config with { Bands = train.Max(t => t.Bands) };
        int batch = Math.Min(spec.Training.BatchSize, train.Max(t => t.Tiles.Count));
        int stepsPerEpoch = Pretrainer.StepsPerEpoch(train.Select(t => t.Tiles.Count).ToArray(), spec.Training.BatchSize * communicator.Size);
        var options = spec.Epochs is int epochs ? spec.Training with { Steps = epochs * stepsPerEpoch } : spec.Training;
        string checkpoint = Path.Combine(directory, "checkpoint");

        manual_seed(options.Seed);
        using var model = new KarmaModel(config);
        model.to(Runtime.ComputeDevice.Current);
        if (options.CheckMemory)
            MemoryEstimate.For(config, model.ParameterCount, batch, training: true)
                          .EnsureFits($"Training the {config.Preset} preset on {config.TileSize}² × {config.Bands}-band tiles");
        using var trainer = new Pretrainer(model, options, communicator);
        if (resume)
        {
            // A process killed while saving leaves its temporary or set-aside checkpoint folder behind; the real one is intact.
            if (lead)
                foreach (var stale in Directory.GetDirectories(directory, "checkpoint.tmp-*").Concat(Directory.GetDirectories(directory, "checkpoint.old-*")))
                    Directory.Delete(stale, recursive: true);
            if (!File.Exists(Path.Combine(checkpoint, ModelCheckpoint.MetadataFile)))
                throw new RunFolderException(directory, "has no checkpoint yet, so there is nothing to resume; start it again instead of resuming.") { Settings = ["Resume"] };
            ModelCheckpoint.LoadWeights(model, checkpoint);
            trainer.LoadState(checkpoint);
        }
        if (!lead)
        {
            // This rank's weights are rank 0's (RanksAgree checks): it takes rank 0's evaluation instead of repeating it
            // on the same cores at the same time.
            trainer.Train(train, onStep);
            bool agree = trainer.RanksAgree();
            return new RunResult(ReceiveFromLead(communicator), [], trainTiles, validationTiles, validatedOnTraining, communicator.Size, agree);
        }
        TruncateLog(Path.Combine(directory, "train.jsonl"), trainer.Step);
        TruncateLog(Path.Combine(directory, "validation.jsonl"), trainer.Step + 1); // a validation at the checkpoint's step stays

        int validateEvery = Math.Max(stepsPerEpoch, options.Steps / 20);
        void Save() => ModelCheckpoint.Save(model, checkpoint, config.ByWavelength ? null : train[0].Wavelengths, spec.Tiling, trainer.SaveState,
                                            train.Select(t => $"{t.Spectral?.ToString() ?? $"{t.Bands} bands"} ({t.Spectral?.Source ?? "no wavelengths"}): {t.Tiles.Count} tiles").ToArray());

        using (var trainLog = new StreamWriter(Path.Combine(directory, "train.jsonl"), append: true) { AutoFlush = true })
        using (var validationLog = new StreamWriter(Path.Combine(directory, "validation.jsonl"), append: true) { AutoFlush = true })
        {
            var tensorboard = TorchSharp.torch.utils.tensorboard.SummaryWriter(Path.Combine(directory, "tensorboard"), createRunName: false);
            trainer.Train(train, record =>
            {
                trainLog.WriteLine(JsonSerializer.Serialize(record, KarmaJson.Line));
                Scalars(tensorboard, record, config.HasPhysicsBranch);
                onStep?.Invoke(record);
                int done = trainer.Step;
                if (done % validateEvery == 0 && done < options.Steps)
                {
                    var m = ReconstructionMetrics.Evaluate(model, evaluation);
                    validationLog.WriteLine(JsonSerializer.Serialize(new { step = done, epoch = record.Epoch, metrics = m }, KarmaJson.Line));
                    tensorboard.add_scalar("validation/psnr", (float)m.Psnr, done);
                    tensorboard.add_scalar("validation/ssim", (float)m.Ssim, done);
                    tensorboard.add_scalar("validation/sam_degrees", (float)m.SamDegrees, done);
                    model.train();
                }
                if (options.CheckpointEvery > 0 && done % options.CheckpointEvery == 0 && done < options.Steps) Save();
                if (cancel.IsCancellationRequested && done < options.Steps)
                {
                    // Stop cleanly: the step just taken is saved, so --resume continues exactly from here.
                    Save();
                    throw new OperationCanceledException($"Training stopped at step {done}; resume the run in {directory} to continue.", cancel);
                }
            });
        }
        Save();
        bool? ranksAgree = communicator.Size > 1 ? trainer.RanksAgree() : null;
        ReconstructionMetrics metrics;
        try { metrics = ReconstructionMetrics.Evaluate(model, evaluation); }
        catch when (communicator.Size > 1) { SendToFollowers(communicator, null); throw; }   // the others stop too, instead of waiting
        if (communicator.Size > 1) SendToFollowers(communicator, metrics);
        var warnings = TrainingMonitor.Check(ReadLog(Path.Combine(directory, "train.jsonl"))).ToList();
        if (validatedOnTraining)
            warnings.Insert(0, "No validation tiles (the scenes are too small for a separate block at this tile size): metrics are computed on the training tiles " +
                               "and overstate quality. Give held-out scenes or use a smaller tile size.");
        if (train.Any(t => t.Subsampled) || validation.Any(t => t.Subsampled))
            warnings.Add($"The scenes hold more tiles than fit in {spec.Tiling.MemoryBudgetMiB} MiB; an evenly spread subset was used. " +
                         "Raise the budget (TilingOptions.MemoryBudgetMiB) or the stride to use more of them.");
        if (ranksAgree == false) warnings.Insert(0, "The ranks of this data-parallel run ended with different weights; the checkpoint holds rank 0's. Check that every rank read the same data.");
        var result = new RunResult(metrics, warnings, trainTiles, validationTiles, validatedOnTraining, communicator.Size, ranksAgree);
        AtomicFiles.WriteText(Path.Combine(directory, "metrics.json"), JsonSerializer.Serialize(result, KarmaJson.Indented));
        return result;
    }

    /// <summary>
    /// Rank 0's side of sharing its final metrics with the other ranks (<see cref="ReceiveFromLead"/>): their JSON text,
    /// one byte per float (exact), after its length, so every double arrives as rank 0 wrote it; null says that rank 0's
    /// evaluation failed (length −1), so the others stop instead of waiting.
    /// </summary>
    internal static void SendToFollowers(Runtime.ICommunicator communicator, ReconstructionMetrics? metrics)
    {
        var bytes = metrics is null ? [] : JsonSerializer.SerializeToUtf8Bytes(metrics, KarmaJson.Line);
        float[] length = [metrics is null ? -1 : bytes.Length];
        communicator.Broadcast(length);
        if (metrics is null) return;
        var values = new float[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) values[i] = bytes[i];
        communicator.Broadcast(values);
    }

    /// <summary>The other ranks' side of <see cref="SendToFollowers"/>: rank 0's final metrics, or an error when its evaluation failed.</summary>
    internal static ReconstructionMetrics ReceiveFromLead(Runtime.ICommunicator communicator)
    {
        float[] length = [0];
        communicator.Broadcast(length);
        if (length[0] < 0) throw new KarmaException("Rank 0's final evaluation failed (its own error says why); this rank stops too.");
        var values = new float[(int)length[0]];
        communicator.Broadcast(values);
        return JsonSerializer.Deserialize<ReconstructionMetrics>(values.Select(v => (byte)v).ToArray(), KarmaJson.Line)
            ?? throw new KarmaException("Rank 0 sent no metrics.");
    }

    /// <summary>
    /// Mirrors a step record into TensorBoard event files (the JSONL log stays the source of truth). A model with the physics
    /// branch gets its total only on the steps that ran the branch (<see cref="KarmaConfig.PhysicsEvery"/>): on the others
    /// it lacks the physics term, and the curve would saw-tooth.
    /// </summary>
    static void Scalars(TorchSharp.Modules.SummaryWriter writer, StepRecord r, bool hasPhysics)
    {
        if (!hasPhysics || r.Physics is not null) writer.add_scalar("loss/total", (float)r.Loss, r.Step);
        writer.add_scalar("loss/huber", (float)r.Huber, r.Step);
        if (r.Sam is { } sam) writer.add_scalar("loss/sam", (float)sam, r.Step);
        if (r.Physics is { } physics) writer.add_scalar("loss/physics", (float)physics, r.Step);
        if (r.AbundanceSpread is { } spread) writer.add_scalar("abundance/spread", (float)spread, r.Step);
        writer.add_scalar("optimiser/lr", (float)r.LearningRate, r.Step);
        writer.add_scalar("optimiser/grad_norm", (float)r.GradNorm, r.Step);
        writer.add_scalar("speed/tiles_per_second", (float)r.TilesPerSecond, r.Step);
    }

    /// <summary>The step records of a <c>train.jsonl</c>; a last line cut short by a killed process is skipped.</summary>
    public static IReadOnlyList<StepRecord> ReadLog(string path) => KarmaJson.ReadLines<StepRecord>(path);

    /// <summary>Keeps only the lines of a JSONL log whose step is below <paramref name="step"/> (a crash may have left more).</summary>
    static void TruncateLog(string path, int step)
    {
        if (!File.Exists(path)) return;
        var kept = File.ReadLines(path).Where(l =>
        {
            try { return JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32() < step; }
            catch (JsonException) { return false; } // a line cut short by the crash
        }).ToList();
        AtomicFiles.WriteText(path, string.Concat(kept.Select(l => l + "\n")));
    }
}
