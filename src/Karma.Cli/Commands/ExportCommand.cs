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
        var command = new Command("export", "Write a model's weights and metadata (no optimiser state), optionally as float16, with its SHA-256.") { checkpoint, output, half };
        KarmaCli.SetRun(command, parse =>
        {
            KarmaCli.CheckOutput(parse.GetValue(output)!, parse.GetValue(checkpoint));
            var meta = ModelCheckpoint.Export(parse.GetValue(checkpoint)!, parse.GetValue(output)!, parse.GetValue(half));
            Console.Out.WriteLine($"exported {meta.Config.Preset} {meta.Config.Variant} ({meta.WeightsType ?? "float32"}) to {Path.GetFullPath(parse.GetValue(output)!)}, weights SHA-256 {meta.WeightsSha256}");
            return 0;
        });
        return command;
    }
}
