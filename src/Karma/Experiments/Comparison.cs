using System.Globalization;
using System.Text;
using System.Text.Json;
using Karma.Evaluation;
using Karma.Training;
using Karma.Model;

namespace Karma.Experiments;

/// <summary>
/// The paper's experiments as one procedure: several models (MAE, KARMA, ablations, an M sweep) trained on the
/// same tiles with the same seed and step budget, each evaluated on the same held-out tiles with the same masks,
/// written as <c>comparison.md</c>, <c>comparison.json</c> and bar charts (<c>comparison_psnr.png</c>,
/// <c>comparison_sam.png</c>) beside one run folder per model.
/// </summary>
public static class Comparison
{
    /// <summary>Trains and evaluates <paramref name="variants"/> (name, config) with <paramref name="spec"/>'s data and budget.</summary>
    public static IReadOnlyList<ComparisonEntry> Run(RunSpec spec, IEnumerable<(string Name, KarmaConfig Config)> variants, string directory,
                                                     Func<string, int, Func<Action<StepRecord>, RunResult>, RunResult> execute, bool overwrite = false,
                                                     bool interpolationFloor = false)
    {
        Directory.CreateDirectory(directory);
        if (spec.Data.Length == 0)
        {
            // One simulated scene for every model, so they all see the same tiles.
            string simulated = new Data.SceneSimulator { Size = 128, Bands = 218, Endmembers = 5, Seed = 1 }.Generate().WriteTo(Path.Combine(directory, "simulated"));
            spec = spec with { Data = [Path.GetFullPath(simulated)] };
        }
        // The held-out tiles, read once for whatever needs them after training (they do not depend on the mask ratio).
        (IReadOnlyList<Data.TileSet> Train, IReadOnlyList<Data.TileSet> Validation)? tiles = null;
        var entries = new List<ComparisonEntry>();
        foreach (var (name, config) in variants)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            var result = execute(name, spec.Training.Steps, onStep => TrainingRun.Start(spec with { Config = config }, Path.Combine(directory, name), onStep, overwrite));
            double seconds = started.Elapsed.TotalSeconds;
            if (config.MaskRatio != spec.Config.MaskRatio)
            {
                // Trained at its own ratio, scored on the masks every other row gets: otherwise its task would be easier or harder.
                var (model, _) = ModelCheckpoint.Load(Path.Combine(directory, name));
                using (model)
                {
                    var (train, validation) = tiles ??= TrainingRun.LoadTiles(spec);
                    result = result with { Metrics = ReconstructionMetrics.Evaluate(model, result.ValidatedOnTraining ? train : validation, maskRatio: spec.Config.MaskRatio) };
                }
            }
            entries.Add(new ComparisonEntry(name, config, result, seconds));
        }
        if (interpolationFloor)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            var (train, validation) = tiles ??= TrainingRun.LoadTiles(spec);
            bool onTraining = validation.Sum(v => v.Tiles.Count) == 0;
            var metrics = Floor(spec.Config, onTraining ? train : validation);
            entries.Add(new ComparisonEntry("interpolation", spec.Config with { Variant = ModelVariant.Mae },
                new RunResult(metrics, [], train.Sum(t => t.Tiles.Count), validation.Sum(v => v.Tiles.Count), onTraining), started.Elapsed.TotalSeconds));
        }
        AtomicFiles.WriteText(Path.Combine(directory, "comparison.md"), Markdown(entries));
        var names = entries.Select(e => e.Name).ToList();
        Reporting.Plots.Bars(Path.Combine(directory, "comparison_psnr.png"), names, entries.Select(e => e.Result.Metrics.Psnr).ToList(), "PSNR, masked patches (held out)", "dB");
        Reporting.Plots.Bars(Path.Combine(directory, "comparison_sam.png"), names, entries.Select(e => e.Result.Metrics.SamDegrees).ToList(), "Spectral angle, masked patches (held out)", "degrees");
        AtomicFiles.WriteText(Path.Combine(directory, "comparison.json"), JsonSerializer.Serialize(entries, KarmaJson.Indented));
        return entries;
    }

    /// <summary>
    /// The non-learned floor (<see cref="InterpolationFloor"/>) on <paramref name="tiles"/>, under the masks a model of
    /// <paramref name="config"/> gets (same ratio, patch size and mask seed 0).
    /// </summary>
    public static ReconstructionMetrics Floor(KarmaConfig config, IReadOnlyList<Data.TileSet> tiles) =>
        ReconstructionMetrics.Evaluate(config, (images, _, masking) => (InterpolationFloor.Reconstruct(images, masking, config.PatchSize), null), tiles, physics: false);

    /// <summary>The comparison as a Markdown table, with training cost relative to the first entry.</summary>
    public static string Markdown(IReadOnlyList<ComparisonEntry> entries)
    {
        static string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "–";
        var md = new StringBuilder();
        md.AppendLine("| model | M | PSNR (dB) | SSIM | SAM (°) | RMSE | PSNR phys | SAM phys (°) | train time | vs first |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var e in entries)
        {
            var m = e.Result.Metrics;
            md.AppendLine($"| {e.Name} | {(e.Config.HasPhysicsBranch ? e.Config.Endmembers.ToString(CultureInfo.InvariantCulture) : "–")} | {F(m.Psnr, "F2")} | {F(m.Ssim, "F4")} | " +
                          $"{F(m.SamDegrees, "F2")} | {F(m.Rmse, "F4")} | {F(m.PsnrPhys, "F2")} | {F(m.SamPhysDegrees, "F2")} | " +
                          $"{F(e.Seconds, "F0")} s | {F(e.Seconds / entries[0].Seconds - 1, "+0%;-0%")} |");
        }
        var first = entries[0].Result;
        md.AppendLine();
        md.AppendLine($"Masked-patch metrics on {first.Metrics.Tiles} held-out tiles ({first.TrainTiles} training tiles), same seed, masks and step budget for every model" +
                      $" (models trained at another mask ratio are scored at {entries[0].Config.MaskRatio.ToString(CultureInfo.InvariantCulture)} like the rest)." +
                      (first.ValidatedOnTraining ? " **No held-out tiles: metrics are on training tiles.**" : ""));
        return md.ToString();
    }
}
