using System.CommandLine;
using Karma.Data;
using Karma.Model;
using Karma.Reporting;
using Karma.Unmixing;
using Karma.Runtime;
using Karma.Training;
using Karma.Experiments;
using Spectre.Console;

namespace Karma.Cli.Commands;

/// <summary>
/// <c>karma demo</c>: the README's first command. Simulates a scene, pretrains a plain MAE and KARMA with
/// the same tiles, seed and step budget on the tiny preset, evaluates both on held-out tiles, unmixes the
/// scene with KARMA and with VCA + FCLS against the simulator's truth, and writes an HTML report. Needs no
/// data and no downloads; seeded, so the numbers repeat.
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
            var entries = Comparison.Run(spec, [("mae", config with { Variant = ModelVariant.Mae }), ("karma", config)], dir, PretrainCommand.Execute, overwrite: true);
            CompareCommand.Print(entries, dir);

            // Unmix the simulated scene with KARMA's physics branch and with VCA + FCLS, scored against the simulator's truth.
            string simulated = Path.Combine(dir, "simulated");
            using var scene = HyperspectralScene.Open(Path.Combine(simulated, "scene.hdr"));
            var truthFiles = new[] { Path.Combine(simulated, "endmembers.csv"), Path.Combine(simulated, "abundances.hdr") };
            var table = new Table().AddColumns("unmixing", "SAD (°)", "abundance RMSE", "reconstruction RMSE");
            var (model, meta) = ModelCheckpoint.Load(Path.Combine(dir, "karma"));
            using (model)
            {
                var cube = ReflectanceCube.Read(scene, meta.Tiling!);
                var truth = UnmixingTruth.Read(truthFiles, cube.Rows, cube.Cols, cube.Bands);
                foreach (var result in new[] { SceneUnmixing.Karma(model, cube), SceneUnmixing.VcaFcls(cube, truth.Count) })
                {
                    var score = UnmixingScore.Compute(result, truth);
                    var summary = UnmixingReport.Write(result, cube, Path.Combine(dir, $"unmix-{result.Method}"), truth: score);
                    table.AddRow(result.Method, $"{score.MeanSadDegrees:F2}", $"{score.MeanAbundanceRmse:F4}", $"{summary.MeanErrorRmse:F4}");
                }
            }
            AnsiConsole.Write(table);
            string report = Path.Combine(dir, "report.html");
            RunReport.Write(Path.Combine(dir, "karma"), report, dir);
            Console.Out.WriteLine($"report: {Path.GetFullPath(report)}");
            return 0;
        });
        return command;
    }
}
