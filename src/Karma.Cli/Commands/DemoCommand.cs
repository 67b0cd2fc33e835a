using System.CommandLine;
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
            var spec = new RunSpec
            {
                Config = config,
                Training = new TrainingOptions { Steps = parse.GetValue(steps), BatchSize = 8, Seed = 0, CheckpointEvery = 0 },
                Tiling = new Data.TilingOptions { TileSize = config.TileSize },
            };
            var entries = Comparison.Run(spec, [("mae", config with { Variant = ModelVariant.Mae }), ("karma", config)], dir, PretrainCommand.Execute);
            CompareCommand.Print(entries, dir);
            return 0;
        });
        return command;
    }
}
