using Karma.Data;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Karma.Evaluation;
using Karma.Model;
using Spectre.Console;

namespace Karma.Cli.Commands;

/// <summary><c>karma evaluate</c>: reconstruction quality of a trained model on held-out scenes under a fixed masking seed.</summary>
static class EvaluateCommand
{
    public static Command Create()
    {
        var checkpoint = KarmaCli.Checkpoint();
        var data = new Option<string[]>("--data") { Description = "Held-out scenes.", Required = true, AllowMultipleArgumentsPerToken = true };
        var maskSeed = new Option<int>("--mask-seed") { Description = "Seed of the masks (same seed, same masks).", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var maskRatio = new Option<double?>("--mask-ratio") { Description = "Fraction of patches hidden (default: the model's own), to score models trained at different ratios on the same masks." };
        var bands = new BandOptions();
        var output = new Option<string?>("--out") { Description = "Folder for one NAME.json of metrics per scene (instead of pooled metrics); with --shard, this task's scenes only." };
        var command = new Command("evaluate", "Reconstruct held-out tiles with fixed masks and report PSNR, SSIM, SAM and RMSE (and the physics branch's own).")
            { checkpoint, data, maskSeed, maskRatio, json, output };
        bands.AddTo(command);
        var batch = new SceneBatch();
        batch.AddTo(command);
        KarmaCli.SetRun(command, parse =>
        {
            var (model, meta) = ModelCheckpoint.Load(DefaultModel.Resolve(parse.GetValue(checkpoint)));
            using (model)
            {
                var scenes = bands.Apply(parse, SceneCatalog.Expand(parse.GetValue(data)!, new List<string>()));
                if (parse.GetValue(output) is { } dir)
                {
                    KarmaCli.CheckOutput(dir, [.. scenes, parse.GetValue(checkpoint)]);
                    batch.Run(parse, scenes, dir, ".json", folder: false, (path, target) =>
                    {
                        var (one, _) = HeldOutTiles.For(meta, [path]);
                        AtomicFiles.WriteText(target, JsonSerializer.Serialize(new { scene = path, metrics = ReconstructionMetrics.Evaluate(model, one, parse.GetValue(maskSeed), maskRatio: parse.GetValue(maskRatio)) }, KarmaCli.Json));
                    });
                    return 0;
                }
                var (tiles, resampled) = HeldOutTiles.For(meta, scenes);
                if (resampled) Console.Error.WriteLine($"karma: note: the scenes' bands differ from the model's; resampled them to the model's {meta.Config.Bands} bands.");
                if (tiles.Sum(t => t.Tiles.Count) == 0) throw new KarmaException($"No {meta.Config.TileSize}² tiles with little enough no-data in the given scenes.");
                var metrics = ReconstructionMetrics.Evaluate(model, tiles, parse.GetValue(maskSeed), maskRatio: parse.GetValue(maskRatio));
                if (parse.GetValue(json)) { Console.Out.WriteLine(JsonSerializer.Serialize(metrics, KarmaCli.Json)); return 0; }
                static string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "–";
                var table = new Table().AddColumns("", "PSNR (dB)", "SSIM", "SAM (°)", "RMSE");
                table.AddRow("masked patches", F(metrics.Psnr, "F2"), F(metrics.Ssim, "F4"), F(metrics.SamDegrees, "F2"), F(metrics.Rmse, "F4"));
                table.AddRow("full tile", F(metrics.Full.Psnr, "F2"), F(metrics.Full.Ssim, "F4"), F(metrics.Full.SamDegrees, "F2"), F(metrics.Full.Rmse, "F4"));
                if (metrics.PsnrPhys is not null) table.AddRow("physics A·â (masked)", F(metrics.PsnrPhys, "F2"), "–", F(metrics.SamPhysDegrees, "F2"), "–");
                AnsiConsole.Write(table);
                Console.Out.WriteLine($"{metrics.Tiles} tiles, mask seed {metrics.MaskSeed}, reflectance data range 1, {metrics.ExcludedPixels} no-data pixels left out");
                return 0;
            }
        });
        return command;
    }
}
