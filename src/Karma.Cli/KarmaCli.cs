using System.CommandLine;
using System.Text.Json;
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

    /// <summary>Global: where models run, cpu, cuda[:N] or auto (CUDA when libtorch sees a GPU).</summary>
    public static readonly Option<string> Device = new("--device")
    {
        Description = "Where models run: cpu, cuda, cuda:N or auto (CUDA when available).",
        DefaultValueFactory = _ => "cpu",
        Recursive = true,
    };

    /// <summary>A <c>--readout</c> option: how pixels read encoder features from the patch grid (embed and probe).</summary>
    public static Option<Karma.Downstream.FeatureReadout> Readout() => new("--readout")
    {
        Description = "How each pixel reads its feature from the encoder's patch grid: bilinear (between patch centres) or patch (its own patch's vector).",
        DefaultValueFactory = _ => Karma.Downstream.FeatureReadout.Bilinear,
    };

    /// <summary>A <c>--checkpoint</c> option that falls back to the shipped default model (<see cref="Karma.Model.DefaultModel"/>) when not given.</summary>
    public static Option<string?> Checkpoint(string what = "Run folder (or checkpoint folder) of the model") => new("--checkpoint")
    {
        Description = $"{what}; default: the shipped default model (a wavelength-aware KARMA; see karma version).",
    };

    /// <summary>JSON settings for every machine-readable output: the library's convention, indented.</summary>
    public static readonly JsonSerializerOptions Json = KarmaJson.Indented;

    /// <summary>JSON settings for one-line records (JSONL logs).</summary>
    public static readonly JsonSerializerOptions JsonLine = KarmaJson.Line;

    static readonly CancellationTokenSource interrupt = new();

    /// <summary>Cancelled by the first Ctrl-C: training saves a checkpoint and stops; a second Ctrl-C ends the process.</summary>
    public static CancellationToken Interrupted => interrupt.Token;

    /// <summary>Builds the root command with every subcommand.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("Karma: knowledge-guided masked autoencoders (KARMA) for hyperspectral images.");
        root.Options.Add(Threads);
        root.Options.Add(Device);
        root.Subcommands.Add(VersionCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(SimulateCommand.Create());
        root.Subcommands.Add(PretrainCommand.Create());
        root.Subcommands.Add(CompareCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(MetricsCommand.Create());
        root.Subcommands.Add(UnmixCommand.Create());
        root.Subcommands.Add(AnomalyCommand.Create());
        root.Subcommands.Add(ProbeCommand.Create());
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(PreviewCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(ImplantCommand.Create());
        root.Subcommands.Add(MpiCheckCommand.Create());
        return root;
    }

    /// <summary>"a,b,…" as exactly <paramref name="count"/> numbers (invariant culture), or null when it is not that: the options that take a list of values parse it here and word their own error.</summary>
    public static double[]? Numbers(string? text, int count)
    {
        var parts = (text ?? "").Split(',');
        var values = parts.Select(p => double.TryParse(p, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) ? v : (double?)null).ToArray();
        return values.Length == count && values.All(v => v is not null) ? values.Select(v => v!.Value).ToArray() : null;
    }

    /// <summary>"a,b,…" as exactly <paramref name="count"/> whole numbers, or null when it is not that (see <see cref="Numbers"/>).</summary>
    public static int[]? Integers(string? text, int count)
    {
        var values = (text ?? "").Split(',').Select(p => int.TryParse(p, out int v) ? v : (int?)null).ToArray();
        return values.Length == count && values.All(v => v is not null) ? values.Select(v => v!.Value).ToArray() : null;
    }

    /// <summary>
    /// Refuses an output that would overwrite one of the inputs or land inside an input folder (such as the
    /// checkpoint being read), before any work is done.
    /// </summary>
    public static void CheckOutput(string output, params string?[] inputs)
    {
        string target = Path.GetFullPath(output).TrimEnd('/');
        foreach (var input in inputs.OfType<string>())
        {
            string source = Path.GetFullPath(Karma.Data.MatScene.Split(Karma.Data.BandDescription.Split(input).Scene).File).TrimEnd('/');
            // An ENVI header's binary sits beside it under the same stem.
            var files = source.EndsWith(".hdr", StringComparison.OrdinalIgnoreCase)
                ? new[] { source, source[..^4], source[..^4] + ".img", source[..^4] + ".bsq", source[..^4] + ".dat" } : [source];
            if (files.Contains(target) || (Directory.Exists(source) && target.StartsWith(source + "/", StringComparison.Ordinal)))
                throw new KarmaException(output, $"would overwrite or write inside the input {input}; choose another --out.");
        }
    }

    /// <summary>The command-line flag of each setting the library's errors name (<see cref="KarmaException.Settings"/>).</summary>
    public static IReadOnlyDictionary<string, string> FlagOfSetting { get; } = new Dictionary<string, string>
    {
        ["BatchSize"] = "--batch", ["Checkpoint"] = "--checkpoint", ["Data"] = "--data", ["Device"] = "--device",
        ["Endmembers"] = "--endmembers", ["Folds"] = "--folds", ["Holdout"] = "--holdout", ["LearningRate"] = "--lr",
        ["Method"] = "--method", ["Out"] = "--out", ["Overlap"] = "--overlap", ["Overwrite"] = "--overwrite",
        ["Preset"] = "--preset", ["Resume"] = "--resume", ["Sensor"] = "--sensor", ["Shard"] = "--shard",
        ["SkipMemoryCheck"] = "--skip-memory-check", ["SpectralEmbedding"] = "--spectral-embedding", ["TileSize"] = "--tile-size",
        ["Wavelengths"] = "--wavelengths", ["Window"] = "--window", ["Components"] = "--components", ["Count"] = "--count",
        ["MaxSize"] = "--max-size", ["Fraction"] = "--fraction", ["Spacing"] = "--spacing",
    };

    /// <summary>An error's one line for the terminal: the library's message, then the flags of the settings it names.</summary>
    public static string Describe(KarmaException e)
    {
        var flags = e.Settings.Select(s => FlagOfSetting.GetValueOrDefault(s)).OfType<string>().Distinct().ToList();
        return flags.Count == 0 ? e.Message : $"{e.Message} (options: {string.Join(", ", flags)})";
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
                if (needsTorch) ComputeDevice.Use(parse.GetValue(Device)!);
                return run(parse);
            }
            catch (KarmaException e)
            {
                Console.Error.WriteLine($"karma: error: {Describe(e)}");
                return 1;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A file system refusal the library did not name a file for (it names one wherever it writes): still one line.
                Console.Error.WriteLine($"karma: error: {KarmaException.Quote(e.Message, 400)}");
                return 1;
            }
            catch (OperationCanceledException e) when (interrupt.IsCancellationRequested)
            {
                Console.Error.WriteLine($"karma: {e.Message}");
                return 130;
            }
        });
}
