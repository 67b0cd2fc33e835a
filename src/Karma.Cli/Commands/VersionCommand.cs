using System.CommandLine;
using System.Text.Json;
using Karma.Runtime;
using Spectre.Console;

namespace Karma.Cli.Commands;

/// <summary><c>karma version [--json]</c>: versions of Karma, TorchSharp and libtorch, threads, CUDA and SIMD support.</summary>
static class VersionCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var command = new Command("version", "Show Karma, TorchSharp and libtorch versions, threads, CUDA and SIMD support.") { json };
        KarmaCli.SetRun(command, parse =>
        {
            var env = KarmaEnvironment.Capture();
            var model = Karma.Model.DefaultModel.Metadata;
            var defaultModel = model is null ? null : new
            {
                name = "karma-default", preset = model.Config.Preset, variant = model.Config.Variant.ToString(), embedding = model.Config.SpectralEmbedding.ToString(),
                weights = model.WeightsType ?? "float32", sha256 = model.WeightsSha256, trainingBands = model.TrainingBands,
            };
            if (parse.GetValue(json))
            {
                var document = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(env, KarmaCli.Json))!.AsObject();
                document["defaultModel"] = defaultModel is null ? null : System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(defaultModel, KarmaCli.Json));
                Console.Out.WriteLine(document.ToJsonString(KarmaCli.Json));
            }
            else
            {
                Print(env);
                Console.Out.WriteLine(defaultModel is null ? "default model: none in this build" : $"default model: karma-default ({defaultModel.preset}, {defaultModel.embedding}, {defaultModel.weights}), SHA-256 {defaultModel.sha256}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>Prints the environment as a two-column table.</summary>
    public static void Print(KarmaEnvironment env)
    {
        var table = new Table().AddColumn("").AddColumn("");
        table.HideHeaders();
        table.AddRow("karma", env.Karma).AddRow("TorchSharp", env.TorchSharp).AddRow("libtorch", env.Libtorch)
             .AddRow("threads", env.Threads.ToString()).AddRow("cuda", env.Cuda ? "yes" : "no")
             .AddRow("simd", env.Simd).AddRow("processor", Markup.Escape(env.Processor))
             .AddRow("os", Markup.Escape(env.Os)).AddRow(".NET", env.DotNet);
        AnsiConsole.Write(table);
    }
}
