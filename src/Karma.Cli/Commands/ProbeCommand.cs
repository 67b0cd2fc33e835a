using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Karma.Data;
using Karma.Downstream;
using Karma.Evaluation;
using Karma.Model;
using Karma.Experiments;
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
        var checkpoint = KarmaCli.Checkpoint();
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
        var features = new Option<string>("--features") { Description = "What the probe reads per pixel: encoder, spectrum, abundances, comma-separated.", DefaultValueFactory = _ => "encoder,spectrum,abundances" };
        var layers = new Option<int>("--layers") { Description = "Encoder blocks whose outputs the probe reads, counted from the last.", DefaultValueFactory = _ => 1 };
        var probeKind = new Option<string>("--probe") { Description = "linear (logistic regression) or mlp (one hidden layer); the L2 penalty is chosen by cross-validation.", DefaultValueFactory = _ => "linear" };
        var layerDecay = new Option<double>("--layer-decay") { Description = "Fine-tuning: each encoder block learns at this factor of the one above it.", DefaultValueFactory = _ => 0.75 };
        var frozenSteps = new Option<int>("--frozen-steps") { Description = "Fine-tuning: steps with the encoder frozen before it learns.", DefaultValueFactory = _ => 50 };
        var bands = new BandOptions();
        var command = new Command("probe", "Classify labelled scenes: linear probe on pretrained features, fine-tuned segmentation, raw spectra (OA, AA, kappa, mIoU).")
            { checkpoint, baseline, data, labels, unlabelled, fraction, perClass, split, finetuneSteps, seed, output, json, readout, features, layers, probeKind, layerDecay, frozenSteps };
        bands.AddTo(command);
        KarmaCli.SetRun(command, parse =>
        {
            if (parse.GetValue(split) is not ("random" or "spatial")) throw new KarmaException("--split must be random or spatial.");
            if (parse.GetValue(probeKind) is not ("linear" or "mlp")) throw new KarmaException("--probe must be linear or mlp.");
            var dataPaths = bands.Apply(parse, parse.GetValue(data)!);
            var labelPaths = parse.GetValue(labels)!;
            if (dataPaths.Length != labelPaths.Length)
                throw new KarmaException($"Give one --labels map per --data scene ({dataPaths.Length} scenes, {labelPaths.Length} label maps).");
            if (parse.GetValue(output) is { } outDir) KarmaCli.CheckOutput(outDir, [.. dataPaths, .. labelPaths, parse.GetValue(checkpoint)]);
            var (model, meta) = ModelCheckpoint.Load(DefaultModel.Resolve(parse.GetValue(checkpoint)));
            using var _ = model;
            var scenes = dataPaths.Zip(labelPaths, (d, l) =>
            {
                using var scene = HyperspectralScene.Open(d);
                var cube = meta.Read(scene);
                return new LabelledScene(cube, LabelMap.Read(l, cube.Rows, cube.Cols));
            }).ToList();
            var options = new ProbeOptions(
                new FeatureRecipe(FeatureRecipe.ParseSources(parse.GetValue(features)!), parse.GetValue(readout), parse.GetValue(layers)),
                Mlp: parse.GetValue(probeKind) == "mlp", Spatial: parse.GetValue(split) == "spatial",
                TrainFraction: parse.GetValue(fraction), PerClass: parse.GetValue(perClass), Unlabelled: parse.GetValue(unlabelled),
                Tuning: new Segmentation.Options(Steps: parse.GetValue(finetuneSteps), Seed: parse.GetValue(seed), LayerDecay: parse.GetValue(layerDecay), FrozenSteps: parse.GetValue(frozenSteps)));
            KarmaModel? mae = null;
            if (parse.GetValue(baseline) is { } b) mae = ModelCheckpoint.Load(b).Model;
            ProbeResult result;
            using (mae) result = ProbeExperiment.Run(model, scenes, options, mae);
            foreach (var note in result.Split.Notes) Console.Error.WriteLine($"karma: note: {note}");
            if (parse.GetValue(output) is { } dir) ProbeReport.Write(dir, result, scenes, dataPaths, parse.GetValue(unlabelled));
            if (parse.GetValue(json)) { Console.Out.WriteLine(JsonSerializer.Serialize(ProbeReport.Summary(result.Metrics), KarmaCli.Json)); return 0; }
            var table = new Table().AddColumns("method", "OA", "AA", "kappa", "mIoU");
            foreach (var (name, m) in result.Metrics) table.AddRow(name, $"{m.Oa:P1}", $"{m.Aa:P1}", $"{m.Kappa:F3}", $"{m.Miou:P1}");
            AnsiConsole.Write(table);
            Console.Out.WriteLine($"{result.Split.Train.Length} training and {result.Split.Test.Length} test pixels in {scenes.Count} scene(s) ({parse.GetValue(split)} split, seed {options.Seed})");
            return 0;
        });
        return command;
    }
}
