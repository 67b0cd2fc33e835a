using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Karma.Data;
using Karma.Downstream;
using Karma.Evaluation;
using Karma.Model;
using Karma.Reporting;
using Karma.Unmixing;
using Spectre.Console;

namespace Karma.Cli.Commands;

/// <summary>
/// <c>karma probe</c>: per-pixel classification of a labelled scene with a linear probe on frozen encoder features,
/// next to the same probe on raw spectra (and on a plain MAE's features), all on one split.
/// </summary>
static class ProbeCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Run folder of the pretrained model.", Required = true };
        var baseline = new Option<string?>("--baseline-checkpoint") { Description = "Run folder of a plain MAE to compare with." };
        var data = new Option<string>("--data") { Description = "The labelled scene.", Required = true };
        var labels = new Option<string>("--labels") { Description = "Label map on the scene's grid (raster, or .mat:VARIABLE).", Required = true };
        var unlabelled = new Option<int>("--unlabelled") { Description = "Label value of unlabelled pixels.", DefaultValueFactory = _ => 0 };
        var fraction = new Option<double?>("--train-fraction") { Description = "Fraction of each class's labelled pixels used for training (default 0.05)." };
        var perClass = new Option<int?>("--per-class") { Description = "Training pixels per class (instead of a fraction)." };
        var split = new Option<string>("--split") { Description = "random (stratified) or spatial (train top half, test bottom half).", DefaultValueFactory = _ => "random" };
        var seed = new Option<int>("--seed") { Description = "Seed of the split and the probe.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Folder for confusion matrices, the split and metrics.json." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object with a key per method." };
        var command = new Command("probe", "Classify a labelled scene with a linear probe on pretrained features vs raw spectra (OA, AA, kappa, mIoU).")
            { checkpoint, baseline, data, labels, unlabelled, fraction, perClass, split, seed, output, json };
        KarmaCli.SetRun(command, parse =>
        {
            if (parse.GetValue(split) is not ("random" or "spatial")) throw new KarmaException("--split must be random or spatial.");
            if (parse.GetValue(output) is { } outDir) KarmaCli.CheckOutput(outDir, parse.GetValue(data), parse.GetValue(labels), parse.GetValue(checkpoint));
            var (model, meta) = ModelCheckpoint.Load(parse.GetValue(checkpoint)!);
            using var _ = model;
            using var scene = HyperspectralScene.Open(parse.GetValue(data)!);
            var cube = ReflectanceCube.Read(scene, meta.Tiling ?? new TilingOptions { TileSize = meta.Config.TileSize });
            var map = ReadLabels(parse.GetValue(labels)!, cube.Rows, cube.Cols);
            var s = LabelSplit.Create(map, cube.Rows, cube.Cols, parse.GetValue(unlabelled), parse.GetValue(fraction), parse.GetValue(perClass),
                                      parse.GetValue(split) == "spatial", parse.GetValue(seed));
            foreach (var note in s.Notes) Console.Error.WriteLine($"karma: note: {note}");
            var truth = s.Test.Select(p => map[p]).ToArray();
            var results = new Dictionary<string, ClassificationMetrics>
            {
                ["raw"] = ClassificationMetrics.Compute(truth, LinearProbe.FitPredict(PixelFeatures.Spectra(cube), map, s.Train, s.Test, parse.GetValue(seed))),
                ["probe"] = ClassificationMetrics.Compute(truth, LinearProbe.FitPredict(PixelFeatures.Encode(model, cube), map, s.Train, s.Test, parse.GetValue(seed))),
            };
            if (parse.GetValue(baseline) is { } b)
            {
                var (mae, _) = ModelCheckpoint.Load(b);
                using (mae) results["baseline"] = ClassificationMetrics.Compute(truth, LinearProbe.FitPredict(PixelFeatures.Encode(mae, cube), map, s.Train, s.Test, parse.GetValue(seed)));
            }
            if (parse.GetValue(output) is { } dir)
            {
                Directory.CreateDirectory(dir);
                foreach (var (name, m) in results)
                {
                    var counts = new int[m.Labels.Length, m.Labels.Length];
                    for (int i = 0; i < m.Labels.Length; i++) for (int j = 0; j < m.Labels.Length; j++) counts[i, j] = (int)m.Confusion[i, j];
                    Plots.ConfusionMatrix(Path.Combine(dir, $"confusion_{name}.png"), counts, m.Labels.Select(l => l.ToString(CultureInfo.InvariantCulture)).ToArray(), $"{name}: OA {m.Oa:P1}");
                }
                AtomicFiles.WriteText(Path.Combine(dir, "split.json"), JsonSerializer.Serialize(new { s.Train, s.Test, s.Notes }));
                AtomicFiles.WriteText(Path.Combine(dir, "metrics.json"), JsonSerializer.Serialize(Summary(results), KarmaCli.Json));
            }
            if (parse.GetValue(json)) { Console.Out.WriteLine(JsonSerializer.Serialize(Summary(results), KarmaCli.Json)); return 0; }
            var table = new Table().AddColumns("method", "OA", "AA", "kappa", "mIoU");
            foreach (var (name, m) in results) table.AddRow(name, $"{m.Oa:P1}", $"{m.Aa:P1}", $"{m.Kappa:F3}", $"{m.Miou:P1}");
            AnsiConsole.Write(table);
            Console.Out.WriteLine($"{s.Train.Length} training and {s.Test.Length} test pixels ({parse.GetValue(split)} split, seed {parse.GetValue(seed)})");
            return 0;
        });
        return command;
    }

    static Dictionary<string, object> Summary(Dictionary<string, ClassificationMetrics> results) =>
        results.ToDictionary(r => r.Key, r => (object)new
        {
            oa = r.Value.Oa, aa = r.Value.Aa, kappa = r.Value.Kappa, miou = r.Value.Miou, labels = r.Value.Labels,
            confusion = Enumerable.Range(0, r.Value.Labels.Length).Select(i => Enumerable.Range(0, r.Value.Labels.Length).Select(j => r.Value.Confusion[i, j]).ToArray()).ToArray(),
            perClass = r.Value.PerClass,
        });

    /// <summary>A label map as integers [rows·cols], from a one-band raster or a 2-D MATLAB variable.</summary>
    public static int[] ReadLabels(string path, int rows, int cols)
    {
        var (file, variable) = MatScene.Split(path);
        double[] values;
        if (file.EndsWith(".mat", StringComparison.OrdinalIgnoreCase))
        {
            var name = variable ?? MatFile.List(file).FirstOrDefault(v => v.IsNumeric && v.Dimensions.SequenceEqual([rows, cols]))?.Name
                       ?? throw new KarmaException(file, $"holds no {rows}×{cols} label map; name it as {Path.GetFileName(file)}:VARIABLE.");
            var array = MatFile.Read(file, name);
            if (!array.Variable.Dimensions.SequenceEqual([rows, cols]))
                throw new KarmaException(file, $"variable {array.Variable} is not on the scene's {rows}×{cols} grid.");
            values = new double[rows * cols];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) values[r * cols + c] = array[r, c];
        }
        else
        {
            using var map = HyperspectralScene.Open(path);
            if (map.Lines != rows || map.Samples != cols) throw new KarmaException(path, $"is {map.Lines}×{map.Samples} but the scene is {rows}×{cols}.");
            var band = new float[rows * cols];
            map.ReadWindow(0, 0, rows, cols, [0], band);
            values = band.Select(v => (double)v).ToArray();
        }
        if (values.Any(v => !double.IsFinite(v) || v != Math.Round(v)))
            throw new KarmaException(path, "holds values that are not whole numbers; a label map stores class numbers.");
        return values.Select(v => (int)v).ToArray();
    }
}
