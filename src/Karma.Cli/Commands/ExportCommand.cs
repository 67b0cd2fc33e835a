using System.CommandLine;
using Karma.Model;

namespace Karma.Cli.Commands;

/// <summary><c>karma export</c>: a trained model's weights and metadata only, optionally as float16 (how the default model ships).</summary>
static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Run folder (or checkpoint folder) to export.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for model.json and weights.bin.", Required = true };
        var half = new Option<bool>("--half") { Description = "Store weights and statistics as float16 (half the size; loading converts back)." };
        var format = new Option<string>("--format") { Description = "karma (weights.bin, TorchSharp's format) or safetensors (model.safetensors, read by PyTorch: bench/reference/karma_model.py). Karma loads either, so exporting a PyTorch-written folder with --format karma imports it.", DefaultValueFactory = _ => "karma" };
        format.AcceptOnlyFromAmong("karma", "safetensors");
        var command = new Command("export", "Write a model's weights and metadata (no optimiser state), optionally as float16 or as safetensors for PyTorch, with its SHA-256.") { checkpoint, output, half, format };
        KarmaCli.SetRun(command, parse =>
        {
            KarmaCli.CheckOutput(parse.GetValue(output)!, parse.GetValue(checkpoint));
            var meta = ModelCheckpoint.Export(parse.GetValue(checkpoint)!, parse.GetValue(output)!, parse.GetValue(half), parse.GetValue(format) == "safetensors");
            Console.Out.WriteLine($"exported {meta.Config.Preset} {meta.Config.Variant} ({meta.WeightsType ?? "float32"}) to {Path.GetFullPath(parse.GetValue(output)!)}, weights SHA-256 {meta.WeightsSha256}");
            return 0;
        });
        return command;
    }
}
