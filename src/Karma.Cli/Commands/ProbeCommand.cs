using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Karma.Data;
using Karma.Downstream;
using Karma.Evaluation;
using Karma.Model;
using Karma.Reporting;
using Spectre.Console;
using TorchSharp;

namespace Karma.Cli.Commands;

/// <summary>
/// <c>karma probe</c>: per-pixel classification of labelled scenes on one split, each method predicting a class for
/// every pixel: a linear probe on raw spectra, a linear probe on the frozen encoder's features, dense segmentation
/// by fine-tuning the encoder with a small head, the same fine-tuning from random weights (the control that says
/// whether pretraining helped), and the probe and fine-tuning of a plain MAE when one is given.
/// </summary>
static class ProbeCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Run folder of the pretrained model.", Required = true };
        var baseline = new Option<string?>("--baseline-checkpoint") { Description = "Run folder of a plain MAE to compare with." };
        var data = new Option<string[]>("--data") { Description = "The labelled scenes.", Required = true, AllowMultipleArgumentsPerToken = true };
        var labels = new Option<string[]>("--labels") { Description = "A label map per scene, on its grid (raster, or .mat:VARIABLE), in the same order.", Required = true, AllowMultipleArgumentsPerToken = true };
        var unlabelled = new Option<int>("--unlabelled") { Description = "Label value of unlabelled pixels.", DefaultValueFactory = _ => 0 };
        var fraction = new Option<double?>("--train-fraction") { Description = "Fraction of each class's labelled pixels used for training (default 0.05)." };
        var perClass = new Option<int?>("--per-class") { Description = "Training pixels per class (instead of a fraction)." };
        var split = new Option<string>("--split") { Description = "random (stratified) or spatial (train in the top half of each scene, test in the bottom half).", DefaultValueFactory = _ => "random" };
        var finetuneSteps = new Option<int>("--finetune-steps") { Description = "Fine-tuning steps for dense segmentation (0: skip fine-tuning).", DefaultValueFactory = _ => 300 };
        var seed = new Option<int>("--seed") { Description = "Seed of the split, the probe and fine-tuning.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Folder for class maps, error maps, confusion matrices, the split and metrics.json." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object with a key per method." };
        var readout = KarmaCli.Readout();
        var bands = new BandOptions();
        var command = new Command("probe", "Classify labelled scenes: linear probe on pretrained features, fine-tuned segmentation, raw spectra (OA, AA, kappa, mIoU).")
            { checkpoint, baseline, data, labels, unlabelled, fraction, perClass, split, finetuneSteps, seed, output, json, readout };
        bands.AddTo(command);
        KarmaCli.SetRun(command, parse =>
        {
            if (parse.GetValue(split) is not ("random" or "spatial")) throw new KarmaException("--split must be random or spatial.");
            var dataPaths = bands.Apply(parse, parse.GetValue(data)!);
            var labelPaths = parse.GetValue(labels)!;
            if (dataPaths.Length != labelPaths.Length)
                throw new KarmaException($"Give one --labels map per --data scene ({dataPaths.Length} scenes, {labelPaths.Length} label maps).");
            if (parse.GetValue(output) is { } outDir) KarmaCli.CheckOutput(outDir, [.. dataPaths, .. labelPaths, parse.GetValue(checkpoint)]);
            int seedValue = parse.GetValue(seed);
            bool spatial = parse.GetValue(split) == "spatial";
            var (model, meta) = ModelCheckpoint.Load(parse.GetValue(checkpoint)!);
            using var _ = model;
            var scenes = dataPaths.Zip(labelPaths, (d, l) =>
            {
                using var scene = HyperspectralScene.Open(d);
                var cube = meta.Read(scene);
                return new LabelledScene(cube, LabelMap.Read(l, cube.Rows, cube.Cols));
            }).ToList();
            var map = scenes.SelectMany(s => s.Labels).ToArray();
            var s = LabelSplit.Create(map, parse.GetValue(unlabelled), parse.GetValue(fraction), parse.GetValue(perClass),
                                      spatial ? LabelSplit.TopHalves(scenes.Select(x => (x.Cube.Rows, x.Cube.Cols)).ToList()) : null, seedValue);
            foreach (var note in s.Notes) Console.Error.WriteLine($"karma: note: {note}");
            var everyPixel = Enumerable.Range(0, map.Length).ToArray();
            var truth = s.Test.Select(p => map[p]).ToArray();

            // Every method predicts every pixel, so class maps can be drawn; metrics use the test pixels only.
            var predictions = new Dictionary<string, int[]>();
            float[,] Stack(Func<ReflectanceCube, float[,]> features)
            {
                var parts = scenes.Select(x => features(x.Cube)).ToList();
                var all = new float[map.Length, parts[0].GetLength(1)];
                int row = 0;
                foreach (var part in parts)
                    for (int i = 0; i < part.GetLength(0); i++, row++)
                        for (int k = 0; k < part.GetLength(1); k++) all[row, k] = part[i, k];
                return all;
            }
            int[] Probe(Func<ReflectanceCube, float[,]> features) => LinearProbe.FitPredict(Stack(features), map, s.Train, everyPixel, seedValue);
            var tuning = new Segmentation.Options(Steps: parse.GetValue(finetuneSteps), Seed: seedValue);
            int[] FineTune(KarmaModel m) => Segmentation.FitPredict(m, scenes, s.Train, s.Test, excludeTestPixels: spatial, tuning);

            predictions["raw"] = Probe(PixelFeatures.Spectra);
            predictions["probe"] = Probe(c => PixelFeatures.Encode(model, c, parse.GetValue(readout)));
            if (tuning.Steps > 0)
            {
                // The control that says whether pretraining helped: the same model and fine-tuning from random weights.
                torch.manual_seed(seedValue);
                using (var scratch = new KarmaModel(meta.Config))
                {
                    scratch.SetBandStatistics(model.BandMean, model.BandStd);
                    scratch.to(model.Device);
                    predictions["scratch"] = FineTune(scratch);
                }
                predictions["finetune"] = FineTune(model);
            }
            if (parse.GetValue(baseline) is { } b)
            {
                var (mae, _) = ModelCheckpoint.Load(b);
                using (mae)
                {
                    predictions["baseline"] = Probe(c => PixelFeatures.Encode(mae, c, parse.GetValue(readout)));
                    if (tuning.Steps > 0) predictions["baseline-finetune"] = FineTune(mae);
                }
            }
            var results = predictions.ToDictionary(p => p.Key, p => ClassificationMetrics.Compute(truth, s.Test.Select(i => p.Value[i]).ToArray()));

            if (parse.GetValue(output) is { } dir)
            {
                Directory.CreateDirectory(dir);
                WriteMaps(dir, scenes, dataPaths, map, parse.GetValue(unlabelled), s, predictions, results);
                AtomicFiles.WriteText(Path.Combine(dir, "split.json"), JsonSerializer.Serialize(new { scenes = dataPaths, s.Train, s.Test, s.Notes }));
                AtomicFiles.WriteText(Path.Combine(dir, "metrics.json"), JsonSerializer.Serialize(Summary(results), KarmaCli.Json));
            }
            if (parse.GetValue(json)) { Console.Out.WriteLine(JsonSerializer.Serialize(Summary(results), KarmaCli.Json)); return 0; }
            var table = new Table().AddColumns("method", "OA", "AA", "kappa", "mIoU");
            foreach (var (name, m) in results) table.AddRow(name, $"{m.Oa:P1}", $"{m.Aa:P1}", $"{m.Kappa:F3}", $"{m.Miou:P1}");
            AnsiConsole.Write(table);
            Console.Out.WriteLine($"{s.Train.Length} training and {s.Test.Length} test pixels in {scenes.Count} scene(s) ({parse.GetValue(split)} split, seed {seedValue})");
            return 0;
        });
        return command;
    }

    /// <summary>Per method: confusion matrix, class map of every pixel, and error map (correct, wrong, training, unlabelled).</summary>
    static void WriteMaps(string dir, IReadOnlyList<LabelledScene> scenes, string[] paths, int[] map, int unlabelled, LabelSplit split,
                         Dictionary<string, int[]> predictions, Dictionary<string, ClassificationMetrics> results)
    {
        var classes = map.Where(l => l != unlabelled).Distinct().Order().ToArray();
        var index = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);
        var names = classes.Select(c => $"class {c}").ToArray();
        var train = split.Train.ToHashSet();
        var test = split.Test.ToHashSet();
        IEnumerable<(string, int[], int, int)> Panels(Func<int, int> category)
        {
            int offset = 0;
            foreach (var (scene, path) in scenes.Zip(paths))
            {
                int n = scene.Cube.Rows * scene.Cube.Cols, start = offset;
                yield return (Path.GetFileNameWithoutExtension(path), Enumerable.Range(start, n).Select(category).ToArray(), scene.Cube.Rows, scene.Cube.Cols);
                offset += n;
            }
        }
        SkiaSharp.SKColor[] errorColours = [new(89, 161, 79), new(225, 87, 89), new(78, 121, 167), new(40, 40, 40)];
        foreach (var (name, predicted) in predictions)
        {
            var m = results[name];
            var counts = new int[m.Labels.Length, m.Labels.Length];
            for (int i = 0; i < m.Labels.Length; i++) for (int j = 0; j < m.Labels.Length; j++) counts[i, j] = (int)m.Confusion[i, j];
            Plots.ConfusionMatrix(Path.Combine(dir, $"confusion_{name}.png"), counts, m.Labels.Select(l => l.ToString(CultureInfo.InvariantCulture)).ToArray(), $"{name}: OA {m.Oa:P1}");
            Plots.CategoryMaps(Path.Combine(dir, $"classmap_{name}.png"), Panels(p => index.GetValueOrDefault(predicted[p], -1)).ToList(), names,
                               $"{name}: predicted classes (OA {m.Oa:P1}, mIoU {m.Miou:P1})");
            Plots.CategoryMaps(Path.Combine(dir, $"errors_{name}.png"),
                               Panels(p => test.Contains(p) ? (predicted[p] == map[p] ? 0 : 1) : train.Contains(p) ? 2 : 3).ToList(),
                               ["correct (test)", "wrong (test)", "training pixel", "unlabelled"], $"{name}: errors on test pixels", errorColours);
        }
        Plots.CategoryMaps(Path.Combine(dir, "labels.png"), Panels(p => index.GetValueOrDefault(map[p], -1)).ToList(), names, "reference labels");
    }

    static Dictionary<string, object> Summary(Dictionary<string, ClassificationMetrics> results) =>
        results.ToDictionary(r => r.Key, r => (object)new
        {
            oa = r.Value.Oa, aa = r.Value.Aa, kappa = r.Value.Kappa, miou = r.Value.Miou, labels = r.Value.Labels,
            confusion = Enumerable.Range(0, r.Value.Labels.Length).Select(i => Enumerable.Range(0, r.Value.Labels.Length).Select(j => r.Value.Confusion[i, j]).ToArray()).ToArray(),
            perClass = r.Value.PerClass,
        });
}
