using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Karma.Cli.Commands;
using Karma.Runtime;
using TorchSharp;

namespace Karma.Cli;

/// <summary>
/// The <c>karma</c> command tree. Every command runs through <see cref="SetRun"/>, which loads libtorch
/// when the command needs it, applies the global <c>--threads</c> option, and turns a
/// <see cref="KarmaException"/> into one line on standard error and exit code 1.
/// </summary>
public static class KarmaCli
{
    /// <summary>Global: how many threads libtorch may use (default: its own choice, one per core).</summary>
    public static readonly Option<int?> Threads = new("--threads")
    {
        Description = "Number of CPU threads for tensor work (default: one per core).",
        Recursive = true,
    };

    /// <summary>JSON settings for every machine-readable output: camelCase keys, indented.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>JSON settings for one-line records (JSONL logs).</summary>
    public static readonly JsonSerializerOptions JsonLine = new(Json) { WriteIndented = false };

    static readonly CancellationTokenSource interrupt = new();

    /// <summary>Cancelled by the first Ctrl-C: training saves a checkpoint and stops; a second Ctrl-C ends the process.</summary>
    public static CancellationToken Interrupted => interrupt.Token;

    /// <summary>Builds the root command with every subcommand.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("Karma: knowledge-guided masked autoencoders (KARMA) for hyperspectral images.");
        root.Options.Add(Threads);
        root.Subcommands.Add(VersionCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(SimulateCommand.Create());
        root.Subcommands.Add(PretrainCommand.Create());
        root.Subcommands.Add(CompareCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(MetricsCommand.Create());
        root.Subcommands.Add(UnmixCommand.Create());
        root.Subcommands.Add(ProbeCommand.Create());
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(PreviewCommand.Create());
        return root;
    }

    /// <summary>Attaches <paramref name="run"/> to <paramref name="command"/> with Karma's error handling.</summary>
    public static void SetRun(Command command, Func<ParseResult, int> run, bool needsTorch = true) =>
        command.SetAction(parse =>
        {
            Console.CancelKeyPress += (_, e) =>
            {
                if (interrupt.IsCancellationRequested) return; // second Ctrl-C: let the process end
                e.Cancel = true;
                interrupt.Cancel();
                Console.Error.WriteLine("karma: stopping after this step (a checkpoint is written); press Ctrl-C again to abort at once.");
            };
            try
            {
                if (needsTorch) TorchRuntime.EnsureLoaded();
                if (parse.GetValue(Threads) is int threads)
                {
                    if (threads < 1) throw new KarmaException($"--threads must be at least 1 (got {threads}).");
                    if (needsTorch) torch.set_num_threads(threads);
                }
                return run(parse);
            }
            catch (KarmaException e)
            {
                Console.Error.WriteLine($"karma: error: {e.Message}");
                return 1;
            }
            catch (OperationCanceledException e) when (interrupt.IsCancellationRequested)
            {
                Console.Error.WriteLine($"karma: {e.Message}");
                return 130;
            }
        });
}
