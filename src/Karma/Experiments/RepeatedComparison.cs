using System.Globalization;
using System.Text;
using System.Text.Json;
using Karma.Evaluation;
using Karma.Model;
using Karma.Training;

namespace Karma.Experiments;

/// <summary>One trained and tested model of a repeated comparison.</summary>
public sealed record FoldRun(string Variant, int Fold, int Seed, ReconstructionMetrics Test, int TrainTiles, double Seconds);

/// <summary>A model's metrics over every fold and seed, and its difference to the reference model run for run.</summary>
public sealed record FoldSummary(string Variant, RunSpread Psnr, RunSpread Ssim, RunSpread SamDegrees, RunSpread Rmse, RunSpread PsnrPhys, RunSpread SamPhysDegrees,
                                 RunSpread PsnrDifference, RunSpread SsimDifference, RunSpread SamDifference, double Seconds);

/// <summary>
/// A comparison that holds: every model trained and tested over K spatially disjoint folds of the scenes (each fold the
/// test set once, never used for validation or model choice) and N seeds per fold, reported as mean ± standard deviation
/// over folds × seeds, with the paired difference to the first model on the same fold and seed — a gain is a finding when
/// its paired mean stands clear of its spread. Validation during training (curves, warnings) comes from the training
/// scenes alone (<see cref="TrainingRun.LoadTiles"/>).
/// </summary>
public static class RepeatedComparison
{
    /// <summary>
    /// The scenes in <paramref name="folds"/> contiguous groups in path order (scenes near each other in a tiled archive stay
    /// together, so a test fold is a block of the area, not tiles interleaved with training ones).
    /// </summary>
    public static IReadOnlyList<string[]> Folds(IReadOnlyList<string> scenes, int folds)
    {
        if (folds < 2) throw new InvalidSettingException($"Folds need K ≥ 2 (got {folds}).");
        if (scenes.Count < folds) throw new InvalidSettingException($"{folds} folds need at least {folds} scenes (got {scenes.Count}); cut a large scene into tiles, or use fewer folds.");
        var ordered = scenes.OrderBy(s => s, StringComparer.Ordinal).ToArray();
        return Enumerable.Range(0, folds).Select(k => ordered[(k * ordered.Length / folds)..((k + 1) * ordered.Length / folds)]).ToList();
    }

    /// <summary>
    /// Trains every variant on every fold's training scenes with every seed, and tests it on the fold's scenes with mask
    /// seed 0. With one fold the test scenes are <see cref="RunSpec.Holdout"/>. Runs go to
    /// <c>fold{k}/seed{s}/{variant}</c> under <paramref name="directory"/>.
    /// </summary>
    public static IReadOnlyList<FoldRun> Run(RunSpec spec, IReadOnlyList<(string Name, KarmaConfig Config)> variants, int folds, int seeds, string directory,
                                             Func<string, int, Func<Action<StepRecord>, RunResult>, RunResult> execute, bool overwrite = false,
                                             bool interpolationFloor = false)
    {
        if (seeds < 1) throw new InvalidSettingException($"Seeds need N ≥ 1 (got {seeds}).");
        var splits = folds > 1
            ? Folds(spec.Data, folds).Select(test => (Train: spec.Data.Except(test).ToArray(), Test: test)).ToList()
            : [(spec.Data, spec.Holdout.Length > 0 ? spec.Holdout : throw new InvalidSettingException("With one fold, give the test scenes as held-out scenes, or use K ≥ 2 folds.") { Settings = ["Holdout", "Folds"] })];
        var runs = new List<FoldRun>();
        for (int k = 0; k < splits.Count; k++)
            for (int s = 0; s < seeds; s++)
            {
                int seed = spec.Training.Seed + s;
                (ModelCheckpoint.Metadata Meta, IReadOnlyList<Data.TileSet> Tiles)? first = null;   // the floor scores the first variant's test tiles
                foreach (var (name, config) in variants)
                {
                    string dir = Path.Combine(directory, $"fold{k}", $"seed{seed}", name);
                    var run = spec with { Config = config, Data = splits[k].Train, Holdout = [], Training = spec.Training with { Seed = seed } };
                    var started = System.Diagnostics.Stopwatch.StartNew();
                    var result = execute($"{name} fold {k + 1}/{splits.Count} seed {seed}", spec.Training.Steps, onStep => TrainingRun.Start(run, dir, onStep, overwrite));
                    double seconds = started.Elapsed.TotalSeconds;
                    var (model, meta) = ModelCheckpoint.Load(dir);
                    using (model)
                    {
                        var (tiles, _) = HeldOutTiles.For(meta, splits[k].Test);
                        first ??= (meta, tiles);
                        runs.Add(new FoldRun(name, k, seed, ReconstructionMetrics.Evaluate(model, tiles, maskRatio: spec.Config.MaskRatio), result.TrainTiles, seconds));
                    }
                }
                if (interpolationFloor)
                {
                    // Nothing to train: the same masks on the same test tiles for each seed (it repeats exactly).
                    var started = System.Diagnostics.Stopwatch.StartNew();
                    var (meta, tiles) = first!.Value;
                    runs.Add(new FoldRun("interpolation", k, seed, Comparison.Floor(meta.Config, tiles), 0, started.Elapsed.TotalSeconds));
                }
            }
        var summary = Summarise(runs);
        AtomicFiles.WriteText(Path.Combine(directory, "comparison.md"), Markdown(summary, splits.Count, seeds));
        AtomicFiles.WriteText(Path.Combine(directory, "comparison.json"), JsonSerializer.Serialize(new { folds = splits.Count, seeds, summary, runs }, KarmaJson.Indented));
        Reporting.Plots.Spread(Path.Combine(directory, "comparison_psnr.png"), runs.Select(r => (r.Variant, r.Test.Psnr)).ToList(), "PSNR on test folds (each point a fold × seed)", "dB");
        Reporting.Plots.Spread(Path.Combine(directory, "comparison_sam.png"), runs.Select(r => (r.Variant, r.Test.SamDegrees)).ToList(), "Spectral angle on test folds (each point a fold × seed)", "degrees");
        return runs;
    }

    /// <summary>Per variant, in first-appearance order: metrics over all runs and the paired differences to the first variant.</summary>
    public static IReadOnlyList<FoldSummary> Summarise(IReadOnlyList<FoldRun> runs)
    {
        var reference = runs.First().Variant;
        var byKey = runs.Where(r => r.Variant == reference).ToDictionary(r => (r.Fold, r.Seed));
        return runs.GroupBy(r => r.Variant).Select(g =>
        {
            var paired = g.Where(r => byKey.ContainsKey((r.Fold, r.Seed))).Select(r => (Run: r, Reference: byKey[(r.Fold, r.Seed)])).ToList();
            return new FoldSummary(g.Key,
                RunSpread.Of(g.Select(r => r.Test.Psnr)), RunSpread.Of(g.Select(r => r.Test.Ssim)), RunSpread.Of(g.Select(r => r.Test.SamDegrees)), RunSpread.Of(g.Select(r => r.Test.Rmse)),
                RunSpread.Of(g.Select(r => r.Test.PsnrPhys ?? double.NaN)), RunSpread.Of(g.Select(r => r.Test.SamPhysDegrees ?? double.NaN)),
                RunSpread.Of(paired.Select(p => p.Run.Test.Psnr - p.Reference.Test.Psnr)), RunSpread.Of(paired.Select(p => p.Run.Test.Ssim - p.Reference.Test.Ssim)),
                RunSpread.Of(paired.Select(p => p.Run.Test.SamDegrees - p.Reference.Test.SamDegrees)), g.Average(r => r.Seconds));
        }).ToList();
    }

    /// <summary>The summary as a Markdown table.</summary>
    public static string Markdown(IReadOnlyList<FoldSummary> summary, int folds, int seeds)
    {
        var md = new StringBuilder();
        string reference = summary[0].Variant;
        md.AppendLine($"| model | PSNR (dB) | SSIM | SAM (°) | RMSE | PSNR phys | SAM phys (°) | ΔPSNR vs {reference} | ΔSSIM | ΔSAM (°) | s/run |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in summary)
            md.AppendLine($"| {s.Variant} | {s.Psnr.Format("F2")} | {s.Ssim.Format("F4")} | {s.SamDegrees.Format("F2")} | {s.Rmse.Format("F4")} | {s.PsnrPhys.Format("F2")} | " +
                          $"{s.SamPhysDegrees.Format("F2")} | {s.PsnrDifference.FormatDifference(2)} | {s.SsimDifference.FormatDifference(4)} | {s.SamDifference.FormatDifference(2)} | {s.Seconds:F0} |");
        md.AppendLine();
        md.AppendLine($"Mean ± sample standard deviation over {folds} test fold(s) × {seeds} seed(s); Δ is the paired difference to {reference} on the same fold and seed. " +
                      "Masked-patch metrics, mask seed 0; test folds were never used for validation.");
        return md.ToString();
    }
}
