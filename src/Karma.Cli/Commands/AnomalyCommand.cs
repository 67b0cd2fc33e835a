using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Karma.Anomaly;
using Karma.Data;
using Karma.Model;
using Karma.Reporting;
using Spectre.Console;

namespace Karma.Cli.Commands;

/// <summary><c>karma anomaly</c>: per-pixel anomaly scores (KARMA, global RX, local RX) as maps, and ROC AUC against truth.</summary>
static class AnomalyCommand
{
    public static Command Create()
    {
        var data = new Option<string[]>("--data") { Description = "Scene(s) or folders to score; several, or a shard, write one folder per scene into --out.", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "Output folder (anomaly.tif, PNG maps, roc.png, anomaly.json).", Required = true };
        var checkpoint = KarmaCli.Checkpoint("Run folder of the model for the karma method");
        var method = new Option<string>("--method") { Description = "karma, rx, local-rx, a comma-separated list, or all (karma only with a model).", DefaultValueFactory = _ => "all" };
        var truth = new Option<string?>("--truth") { Description = "Truth map on the scene's grid (raster or .mat[:VARIABLE]; {scene} stands for each scene's file); non-zero marks anomalies. Adds ROC AUC per method." };
        var window = new Option<string>("--window") { Description = "Inner (guard) and outer window, odd sizes INNER,OUTER, of local RX and of the karma score's local part.", DefaultValueFactory = _ => "5,15" };
        var components = new Option<int>("--components") { Description = "Principal components local RX (and the karma score's local part) works in.", DefaultValueFactory = _ => 20 };
        var noContext = new Option<bool>("--no-context") { Description = "Skip the karma method's context residual (karma-context): four of its five passes, which the karma score does not use when the model has a physics branch." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (auc and seconds per method)." };
        var bands = new BandOptions();
        var command = new Command("anomaly", "Score every pixel for how anomalous it is: KARMA (global + local RX of what the model cannot explain; its parts and the context residual reported too), global RX, local RX; ROC AUC with --truth.")
            { data, output, checkpoint, method, truth, window, components, noContext, json };
        bands.AddTo(command);
        var batch = new SceneBatch();
        batch.AddTo(command);
        KarmaCli.SetRun(command, parse =>
        {
            var scenes = bands.Apply(parse, SceneCatalog.Expand(parse.GetValue(data)!, new List<string>()));
            string dir = parse.GetValue(output)!;
            KarmaCli.CheckOutput(dir, [.. scenes, parse.GetValue(checkpoint), parse.GetValue(truth)]);
            var sizes = KarmaCli.Integers(parse.GetValue(window), 2)
                        ?? throw new KarmaException($"--window takes INNER,OUTER (odd sizes, e.g. 5,15); got '{KarmaException.Quote(parse.GetValue(window), 40)}'.");
            string? ckpt = parse.GetValue(checkpoint);
            var options = new AnomalyOptions(sizes[0], sizes[1], parse.GetValue(components), Context: !parse.GetValue(noContext));
            options.Validate();
            // One model for every scene; loaded when the karma method needs it.
            (KarmaModel Model, ModelCheckpoint.Metadata Meta)? loaded = null;
            try
            {
                IReadOnlyList<AnomalyMap> Score(string path, string target)
                {
                    using var scene = HyperspectralScene.Open(path);
                    // The default model reads any scene whose bands are described; "all" includes karma when a model can read this one.
                    bool haveModel = ckpt is not null || (DefaultModel.Available && scene.Spectral is not null);
                    var methods = AnomalyDetection.ParseMethods(parse.GetValue(method)!, haveModel);
                    if (!haveModel && parse.GetValue(method) == "all")
                        Console.Error.WriteLine($"karma: note: {scene.Path}: its bands are not described, so the default model cannot read it; running rx and local-rx only (give --checkpoint, --wavelengths or --sensor for karma).");
                    var cube = ReflectanceCube.Read(scene, new TilingOptions());
                    ReflectanceCube? modelCube = null;
                    if (methods.Contains(AnomalyMethod.Karma))
                    {
                        loaded ??= ModelCheckpoint.Load(DefaultModel.Resolve(ckpt));
                        modelCube = loaded.Value.Meta.Read(scene);
                    }
                    var maps = AnomalyDetection.Detect(cube, methods, loaded?.Model, modelCube, options);
                    int[]? truthMap = parse.GetValue(truth) is { } t ? LabelMap.Read(SceneBatch.ForScene(t, path), cube.Rows, cube.Cols) : null;
                    if (truthMap is not null) maps = AnomalyDetection.Score(maps, truthMap);
                    AnomalyReport.Write(target, maps, cube.Rows, cube.Cols, cube.Source, truthMap, Path.GetFileName(scene.Path));
                    return maps;
                }
                if (batch.Active(parse, scenes))
                {
                    batch.Run(parse, scenes, dir, "", folder: true, (path, target) => Score(path, target));
                    return 0;
                }
                var result = Score(scenes[0], dir);
                if (parse.GetValue(json))
                {
                    Console.Out.WriteLine(JsonSerializer.Serialize(result.ToDictionary(m => m.Name, m => new { auc = m.Auc, seconds = m.Seconds }), KarmaCli.Json));
                    return 0;
                }
                var table = new Table().AddColumns("method", "ROC AUC", "seconds");
                foreach (var m in result) table.AddRow(m.Name, m.Auc is { } a ? a.ToString("F4", CultureInfo.InvariantCulture) : "–", m.Seconds.ToString("F1", CultureInfo.InvariantCulture));
                AnsiConsole.Write(table);
                Console.Out.WriteLine($"maps in {Path.GetFullPath(dir)}");
                return 0;
            }
            finally { loaded?.Model.Dispose(); }
        });
        return command;
    }
}
