using System.CommandLine;
using Karma.Evaluation;
using Karma.Model;
using Karma.Runtime;
using Karma.Training;
using Spectre.Console;

namespace Karma.Cli.Commands;

/// <summary>
/// <c>karma demo</c>: the README's first command. Simulates a scene, pretrains a plain MAE and KARMA with
/// the same tiles, seed and step budget on the tiny preset, evaluates both on held-out tiles and prints
/// the comparison. Needs no data and no downloads; seeded, so the numbers repeat.
/// </summary>
static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder for the demo's runs.", DefaultValueFactory = _ => "karma-demo" };
        var steps = new Option<int>("--steps") { Description = "Training steps per model.", DefaultValueFactory = _ => 400 };
        var command = new Command("demo", "Run Karma end to end on a simulated scene: pretrain MAE and KARMA, evaluate, compare (no data needed).") { output, steps };
        KarmaCli.SetRun(command, parse =>
        {
            var env = KarmaEnvironment.Capture();
            AnsiConsole.MarkupLine($"[bold]Karma {env.Karma}[/] · libtorch {env.Libtorch} · {env.Threads} threads · {Markup.Escape(env.Simd)}");
            string dir = parse.GetValue(output)!;
            var config = KarmaConfig.Tiny;
            var (train, validation, source) = PretrainCommand.LoadTiles([], config, Path.Combine(dir, "simulated"));
            Console.Out.WriteLine($"data: {source} → {train.Tiles.Count} training and {validation.Tiles.Count} validation tiles of {config.TileSize}²×{train.Bands}");
            var options = new TrainingOptions { Steps = parse.GetValue(steps), BatchSize = 8, Seed = 0 };
            var results = new List<(string Name, ReconstructionMetrics Metrics)>();
            foreach (var variant in new[] { ModelVariant.Mae, ModelVariant.Karma })
            {
                string name = variant.ToString().ToLowerInvariant();
                results.Add((name, PretrainCommand.Run(config with { Variant = variant }, train, validation, options, Path.Combine(dir, name))));
            }
            var table = new Table().AddColumn("model").AddColumn("PSNR (dB)").AddColumn("SAM (°)").AddColumn("RMSE").AddColumn("PSNR phys").AddColumn("SAM phys (°)");
            foreach (var (name, m) in results)
                table.AddRow(name, $"{m.Psnr:F2}", $"{m.SamDegrees:F2}", $"{m.Rmse:F4}", m.PsnrPhys is { } p ? $"{p:F2}" : "–", m.SamPhysDegrees is { } s ? $"{s:F2}" : "–");
            AnsiConsole.Write(table);
            Console.Out.WriteLine($"masked-patch metrics on {results[0].Metrics.Tiles} held-out tiles; runs in {Path.GetFullPath(dir)}");
            return 0;
        });
        return command;
    }
}
