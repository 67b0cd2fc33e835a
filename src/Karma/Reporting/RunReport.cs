using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Karma.Data;
using Karma.Evaluation;
using Karma.Model;
using Karma.Training;
using Karma.Unmixing;
using SkiaSharp;
using static TorchSharp.torch;

namespace Karma.Reporting;

/// <summary>
/// One self-contained HTML page about a pretraining run (every picture embedded): configuration, data, training
/// curves, validation history, held-out metrics, sample reconstructions (original, masked input, reconstruction,
/// physics reconstruction) with spectra, the learned endmembers and abundance maps, warnings, a comparison of
/// several runs when given, and the commands that reproduce it.
/// </summary>
public static class RunReport
{
    /// <summary>Section titles, in order; tests check a report holds each one that applies.</summary>
    public static readonly string[] Sections =
        ["Configuration", "Data", "Training", "Held-out metrics", "Reconstructions", "Endmembers and abundances", "Comparison", "Warnings", "Reproduce"];

    /// <summary>Writes the report for the run in <paramref name="runDirectory"/> to <paramref name="outputPath"/>.</summary>
    public static void Write(string runDirectory, string outputPath, string? compareDirectory = null, int sampleTiles = 3)
    {
        var spec = TrainingRun.ReadSpec(runDirectory);
        var (model, meta) = ModelCheckpoint.Load(runDirectory);
        using var _ = model;
        var figures = Path.Combine(Path.GetTempPath(), $"karma-report-{Guid.NewGuid():N}");
        Directory.CreateDirectory(figures);
        try
        {
            var html = new StringBuilder();
            var log = TrainingRun.ReadLog(Path.Combine(runDirectory, "train.jsonl"));
            var result = File.Exists(Path.Combine(runDirectory, "metrics.json"))
                ? JsonSerializer.Deserialize<RunResult>(File.ReadAllText(Path.Combine(runDirectory, "metrics.json")), KarmaJson.Line) : null;
            string name = Path.GetFileName(Path.GetFullPath(runDirectory).TrimEnd('/'));
            html.Append($"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Karma report: {E(name)}</title><style>{Css}</style></head><body>");
            html.Append($"<h1>Karma report: {E(name)}</h1><p class=\"muted\">{E(meta.Config.Variant.ToString())} model, {E(meta.Config.Preset)} preset · generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC · Karma {E(Runtime.KarmaEnvironment.Capture().Karma)}</p>");

            Section(html, "Configuration");
            Table(html, ["setting", "value"], [
                ["model", $"{meta.Config.Variant}, {meta.Config.Bands} bands, {meta.Config.TileSize}² tiles of {meta.Config.PatchSize}² patches, mask ratio {meta.Config.MaskRatio:P0}"],
                ["encoder / decoder", $"D={meta.Config.EncoderDim}×{meta.Config.EncoderDepth} ({meta.Config.EncoderHeads} heads) / {meta.Config.DecoderDim}×{meta.Config.DecoderDepth} ({meta.Config.DecoderHeads} heads)"],
                ["physics branch", meta.Config.HasPhysicsBranch ? $"M={meta.Config.Endmembers} endmembers ({meta.Config.EndmemberInit} start, {(meta.Config.LearnEndmembers ? "learned" : "fixed")}), abundances per {(meta.Config.PerPixelAbundances ? "pixel" : "patch")}" +
                                    (meta.Config.PhysicsShare < 1 ? string.Create(CultureInfo.InvariantCulture, $", {meta.Config.PhysicsShare:G} of the patches per step") : "") +
                                    (meta.Config.PhysicsEvery > 1 ? $", in one step of every {meta.Config.PhysicsEvery} (terms ×{meta.Config.PhysicsEvery})" : "") : "none"],
                ["loss", $"{meta.Config.HuberWeight}·Huber(δ={meta.Config.HuberDelta})" + (meta.Config.Variant is ModelVariant.Karma or ModelVariant.HuberSam ? $" + {meta.Config.SamWeight}·SAM" : "") + (meta.Config.HasPhysicsBranch ? $" + {meta.Config.PhysicsWeight}·physics" : "")],
                ["optimiser", $"AdamW lr {spec.Training.LearningRate:G3}, weight decay {spec.Training.WeightDecay}, {spec.Training.WarmupFraction:P0} warm-up then cosine, clip {spec.Training.ClipNorm}, batch {spec.Training.BatchSize}, {log.Count} steps, seed {spec.Training.Seed}"],
            ]);

            Section(html, "Data");
            var (train, validation) = TrainingRun.LoadTiles(spec);
            var evaluation = validation.Sum(v => v.Tiles.Count) > 0 ? validation : train;
            Table(html, ["", "value"], [
                ["training scenes", string.Join("<br>", spec.Data.Select(E))],
                ["held-out scenes", spec.Holdout.Length > 0 ? string.Join("<br>", spec.Holdout.Select(E)) : $"bottom {spec.ValidationFraction:P0} of each scene's rows"],
                ["tiles", $"{train.Sum(t => t.Tiles.Count)} training, {validation.Sum(v => v.Tiles.Count)} held out ({spec.Tiling.TileSize}², stride {spec.Tiling.EffectiveStride})"],
                ["bands", string.Join("<br>", train.Select(t => E(t.Spectral?.ToString() ?? $"{t.Bands} bands") + (t.Spectral is { } b ? $" ({E(b.Source)})" : "")))],
            ], escape: false);

            Section(html, "Training");
            if (log.Count > 0)
            {
                Plots.Curves(Path.Combine(figures, "curves.png"), log, "Loss terms and learning rate");
                Image(html, Path.Combine(figures, "curves.png"), "training curves");
                // The last step that measured every term: with --physics-every k the final step may not have run the branch.
                var last = log.LastOrDefault(r => r.Physics is not null) ?? log[^1];
                html.Append($"<p>{(last == log[^1] ? "Final step" : "Last step with the physics branch,")} {last.Step + 1}: loss {last.Loss:F4}, Huber {last.Huber:F4}" +
                            (last.Sam is { } s ? $", SAM {s:F3} rad" : "") + (last.Physics is { } p ? $", physics {p:F4}" : "") +
                            (last.AbundanceSpread is { } sp ? $", abundance spread {sp:F3}, entropy {last.AbundanceEntropy:F2}" : "") +
                            $"; {log.Average(r => r.TilesPerSecond):F1} tiles/s on average.</p>");
            }
            var history = ReadValidation(Path.Combine(runDirectory, "validation.jsonl"));
            if (history.Count > 0)
                Table(html, ["step", "PSNR (dB)", "SSIM", "SAM (°)"], history.Select(h => new[] { $"{h.Step}", F(h.Metrics.Psnr, "F2"), F(h.Metrics.Ssim, "F4"), F(h.Metrics.SamDegrees, "F2") }).ToList());

            Section(html, "Held-out metrics");
            var metrics = result?.Metrics ?? ReconstructionMetrics.Evaluate(model, evaluation);
            Table(html, ["", "PSNR (dB)", "SSIM", "SAM (°)", "RMSE"], [
                ["masked patches", F(metrics.Psnr, "F2"), F(metrics.Ssim, "F4"), F(metrics.SamDegrees, "F2"), F(metrics.Rmse, "F4")],
                ["full tile (all patches predicted)", F(metrics.Full.Psnr, "F2"), F(metrics.Full.Ssim, "F4"), F(metrics.Full.SamDegrees, "F2"), F(metrics.Full.Rmse, "F4")],
                .. metrics.PsnrPhys is null ? Array.Empty<string[]>() : [["physics branch A·â (masked)", F(metrics.PsnrPhys, "F2"), "–", F(metrics.SamPhysDegrees, "F2"), "–"]],
            ]);
            html.Append($"<p class=\"muted\">{metrics.Tiles} {(result?.ValidatedOnTraining == true ? "training (no held-out)" : "held-out")} tiles, mask seed {metrics.MaskSeed}, reflectance, data range 1. SSIM is scikit-image's (11×11 Gaussian window, σ = 1.5) averaged over bands.</p>");

            Section(html, "Reconstructions");
            Reconstructions(html, figures, model, evaluation[0], Math.Min(sampleTiles, evaluation[0].Tiles.Count));

            if (model.Physics is not null)
            {
                Section(html, "Endmembers and abundances");
                using var scene = HyperspectralScene.Open((spec.Holdout.Length > 0 ? spec.Holdout : spec.Data)[0]);
                var cube = meta.Read(scene);
                if (cube.Rows >= meta.Config.TileSize && cube.Cols >= meta.Config.TileSize)
                {
                    var unmixed = SceneUnmixing.Karma(model, cube);
                    var summary = UnmixingReport.Write(unmixed, cube, Path.Combine(figures, "unmix"));
                    Image(html, Path.Combine(figures, "unmix", "endmembers.png"), "endmember spectra");
                    html.Append("<div class=\"grid\">");
                    for (int j = 1; j <= unmixed.Count; j++) Image(html, Path.Combine(figures, "unmix", $"abundance_{j}.png"), $"abundance {j}", small: true);
                    html.Append("</div>");
                    html.Append($"<p>Abundances of {E(scene.Path)} ({cube.Rows}×{cube.Cols} pixels); mean reconstruction RMSE of A·â {summary.MeanErrorRmse:F4}.</p>");
                }
            }

            if (compareDirectory is not null && File.Exists(Path.Combine(compareDirectory, "comparison.json")))
            {
                Section(html, "Comparison");
                var entries = JsonSerializer.Deserialize<List<ComparisonEntry>>(File.ReadAllText(Path.Combine(compareDirectory, "comparison.json")), KarmaJson.Line)!;
                Table(html, ["model", "PSNR (dB)", "SSIM", "SAM (°)", "RMSE", "PSNR phys", "SAM phys (°)", "train time"],
                      entries.Select(e => new[] { e.Name, F(e.Result.Metrics.Psnr, "F2"), F(e.Result.Metrics.Ssim, "F4"), F(e.Result.Metrics.SamDegrees, "F2"),
                                                  F(e.Result.Metrics.Rmse, "F4"), F(e.Result.Metrics.PsnrPhys, "F2"), F(e.Result.Metrics.SamPhysDegrees, "F2"), $"{e.Seconds:F0} s" }).ToList());
                var names = entries.Select(e => e.Name).ToList();
                Plots.Bars(Path.Combine(figures, "psnr.png"), names, entries.Select(e => e.Result.Metrics.Psnr).ToList(), "PSNR, masked patches", "dB");
                Plots.Bars(Path.Combine(figures, "sam.png"), names, entries.Select(e => e.Result.Metrics.SamDegrees).ToList(), "Spectral angle, masked patches", "degrees");
                html.Append("<div class=\"grid\">");
                Image(html, Path.Combine(figures, "psnr.png"), "PSNR by model", small: true);
                Image(html, Path.Combine(figures, "sam.png"), "SAM by model", small: true);
                html.Append("</div>");
            }

            Section(html, "Warnings");
            var warnings = result?.Warnings ?? [];
            html.Append(warnings.Count == 0 ? "<p>None: no failure signature was seen in the training log.</p>"
                                            : "<ul class=\"warn\">" + string.Concat(warnings.Select(w => $"<li>{E(w)}</li>")) + "</ul>");

            Section(html, "Reproduce");
            html.Append($"<pre>{E(Command(spec, runDirectory))}\nkarma evaluate --checkpoint {Quote(runDirectory)} --data {string.Join(' ', (spec.Holdout.Length > 0 ? spec.Holdout : spec.Data).Select(Quote))}\nkarma report --run {Quote(runDirectory)}{(compareDirectory is null ? "" : " --compare " + Quote(compareDirectory))} --out {Quote(outputPath)}</pre>");
            html.Append("</body></html>");
            AtomicFiles.WriteText(outputPath, html.ToString());
        }
        finally { Directory.Delete(figures, true); }
    }

    /// <summary>The <c>karma pretrain</c> command line that repeats the run.</summary>
    public static string Command(RunSpec spec, string runDirectory)
    {
        var c = spec.Config;
        var t = spec.Training;
        var line = new StringBuilder($"karma pretrain --model {Variant(c.Variant)} --preset {c.Preset} --tile-size {c.TileSize} --patch-size {c.PatchSize}");
        if (spec.Data.Length > 0) line.Append(" --data ").AppendJoin(' ', spec.Data.Select(Quote));
        if (spec.Holdout.Length > 0) line.Append(" --holdout ").AppendJoin(' ', spec.Holdout.Select(Quote));
        if (c.HasPhysicsBranch) line.Append($" --endmembers {c.Endmembers}");
        line.Append(spec.Epochs is int e ? $" --epochs {e}" : $" --steps {t.Steps}");
        line.Append(string.Create(CultureInfo.InvariantCulture, $" --batch {t.BatchSize} --lr {t.LearningRate:G} --weight-decay {t.WeightDecay:G} --seed {t.Seed}"));
        if (spec.Tiling.Stride is int s) line.Append($" --stride {s}");
        if (spec.Tiling.Bands.DropWindows.Count > 0) line.Append(" --drop-water-vapour");
        if (!t.Augment) line.Append(" --no-augment");
        if (c.PhysicsShare < 1) line.Append(string.Create(CultureInfo.InvariantCulture, $" --physics-share {c.PhysicsShare:G}"));
        // Always named: the presets' default has changed before (the CPU presets ran 4 for a while), so a run repeats as it ran.
        if (c.HasPhysicsBranch) line.Append($" --physics-every {c.PhysicsEvery}");
        return line.Append($" --out {Quote(runDirectory)}").ToString();
    }

    static string Variant(ModelVariant v) => v switch { ModelVariant.HuberSam => "huber+sam", ModelVariant.HuberLsmm => "huber+lsmm", _ => v.ToString().ToLowerInvariant() };

    static string Quote(string s) => s.Contains(' ') ? $"\"{s}\"" : s;

    static void Reconstructions(StringBuilder html, string figures, KarmaModel model, TileSet tiles, int count)
    {
        if (count == 0) return;
        var cfg = model.Config;
        int t = cfg.TileSize, pixels = t * t, scale = Math.Max(1, 192 / t), bands = tiles.Bands;
        var idx = Enumerable.Range(0, count).Select(i => i * tiles.Tiles.Count / count).ToArray();
        using var scope = NewDisposeScope();
        using var __ = no_grad();
        var images = TileBatch.Batch(tiles, idx).to(model.Device);
        using var generator = new Generator(0);
        using var output = model.call(images, tiles.Spectral, model.SampleMasking(idx.Length, generator));
        var target = model.Targets(images);
        var masked = output.Masking.Mask.unsqueeze(-1);
        var input = images.cpu().data<float>().ToArray();
        var hidden = Patches.Unpatchify(target * (1 - masked), cfg.PatchSize, bands).cpu().contiguous().data<float>().ToArray();
        var composite = Patches.Unpatchify(where(masked.to_type(ScalarType.Bool), output.Reconstruction, target), cfg.PatchSize, bands).cpu().contiguous().data<float>().ToArray();
        var physics = output.PhysicsReconstruction is { } ph ? Patches.Unpatchify(where(masked.to_type(ScalarType.Bool), ph, target), cfg.PatchSize, bands).cpu().contiguous().data<float>().ToArray() : null;
        var mask = output.Masking.Mask.cpu().data<float>().ToArray();
        for (int i = 0; i < idx.Length; i++)
        {
            int at = i * bands * pixels, size = bands * pixels;
            // Every panel uses the original's stretch, so colours compare across panels.
            var stretch = Plots.StretchOf(input.AsSpan(at, size), bands, t, t, tiles.Wavelengths);
            SKBitmap Show(float[] cube) => Plots.Composite(cube.AsSpan(at, size), bands, t, t, tiles.Wavelengths, scale: scale, stretch: stretch);
            var panels = new List<(string, SKBitmap)> { ("original", Show(input)), ("masked input", Show(hidden)), ("reconstruction", Show(composite)) };
            if (physics is not null) panels.Add(("physics A·â", Show(physics)));
            using (var strip = Plots.SideBySide(panels)) Plots.SavePng(strip, Path.Combine(figures, $"tile{i}.png"));
            foreach (var (_, bitmap) in panels) bitmap.Dispose();
            // The spectrum of the centre pixel of the first masked patch.
            int token = Enumerable.Range(0, cfg.Tokens).FirstOrDefault(k => mask[i * cfg.Tokens + k] > 0.5f);
            int row = token / cfg.GridSize * cfg.PatchSize + cfg.PatchSize / 2, col = token % cfg.GridSize * cfg.PatchSize + cfg.PatchSize / 2;
            double[] Spectrum(float[] cube) => Enumerable.Range(0, bands).Select(b => (double)cube[at + (b * t + row) * t + col]).ToArray();
            var series = new List<(string, double[])> { ("true", Spectrum(input)), ("reconstruction", Spectrum(composite)) };
            if (physics is not null) series.Add(("physics A·â", Spectrum(physics)));
            Plots.Spectra(Path.Combine(figures, $"spectrum{i}.png"), tiles.Wavelengths, series, $"Pixel ({row}, {col}) of a masked patch");
            var tile = tiles.Tiles[idx[i]];
            html.Append($"<h3>Tile at ({tile.Row}, {tile.Col}) of {E(Path.GetFileName(tile.Scene))}</h3>");
            Image(html, Path.Combine(figures, $"tile{i}.png"), "reconstruction");
            Image(html, Path.Combine(figures, $"spectrum{i}.png"), "spectrum", small: true);
        }
    }

    sealed record ValidationRecord(int Step, ReconstructionMetrics Metrics);

    static IReadOnlyList<ValidationRecord> ReadValidation(string path) => KarmaJson.ReadLines<ValidationRecord>(path);

    static string E(string s) => WebUtility.HtmlEncode(s);
    static string F(double? v, string f) => v is { } x && double.IsFinite(x) ? x.ToString(f, CultureInfo.InvariantCulture) : "–";

    static void Section(StringBuilder html, string title) => html.Append($"<h2 id=\"{title.ToLowerInvariant().Replace(' ', '-')}\">{E(title)}</h2>");

    static void Table(StringBuilder html, string[] header, IReadOnlyList<string[]> rows, bool escape = true)
    {
        html.Append("<table><tr>").Append(string.Concat(header.Select(h => $"<th>{E(h)}</th>"))).Append("</tr>");
        foreach (var row in rows) html.Append("<tr>").Append(string.Concat(row.Select(c => $"<td>{(escape ? E(c) : c)}</td>"))).Append("</tr>");
        html.Append("</table>");
    }

    static void Image(StringBuilder html, string path, string alt, bool small = false) =>
        html.Append($"<img{(small ? " class=\"small\"" : "")} alt=\"{E(alt)}\" src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(path))}\">");

    const string Css = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}" +
                       "h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}" +
                       "table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}" +
                       "th{background:#f3f3f3}img{max-width:100%;display:block;margin:.5em 0}img.small{max-width:48%;display:inline-block;margin-right:1%}" +
                       ".grid{display:flex;flex-wrap:wrap;gap:1%}.muted{color:#666}.warn li{color:#a40}pre{background:#f6f6f6;padding:.8em;overflow-x:auto;white-space:pre-wrap}";
}
