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
            if (parse.GetValue(json)) Console.Out.WriteLine(JsonSerializer.Serialize(env, KarmaCli.Json));
            else Print(env);
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
