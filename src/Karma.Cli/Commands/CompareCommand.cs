using System.CommandLine;
using System.Globalization;
using Karma.Model;
using Karma.Training;
using Spectre.Console;

namespace Karma.Cli.Commands;

/// <summary>
/// <c>karma compare</c>: the paper's experiments. Trains MAE and KARMA (optionally the two ablations and an
/// endmember-count sweep) on the same tiles with the same seed and budget and tabulates held-out metrics.
/// </summary>
static class CompareCommand
{
    public static Command Create()
    {
        var run = new RunOptions();
        var ablations = new Option<bool>("--ablations") { Description = "Also train huber+sam and huber+lsmm." };
        var sweep = new Option<string?>("--sweep-m") { Description = "Also train KARMA with each of these endmember counts, e.g. 2,4,8,16." };
        var study = new Option<bool>("--endmembers-study") { Description = "Also train KARMA with random-learnable, VCA-fixed (and, with --library, library-fixed) endmembers." };
        var library = new Option<string?>("--library") { Description = "Spectral library for the library-fixed model of --endmembers-study." };
        var output = new Option<string>("--out") { Description = "Folder for the runs and the comparison table.", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace runs already in --out." };
        var command = new Command("compare", "Train MAE and KARMA (and ablations, an M sweep) on the same tiles and budget; tabulate held-out metrics.")
            { ablations, sweep, study, library, output, overwrite };
        run.AddTo(command);
        KarmaCli.SetRun(command, parse =>
        {
            var spec = run.Spec(parse, ModelVariant.Karma);
            var config = spec.Config;
            var variants = new List<(string, KarmaConfig)> { ("mae", config with { Variant = ModelVariant.Mae }), ("karma", config) };
            if (parse.GetValue(ablations))
            {
                variants.Add(("huber+sam", config with { Variant = ModelVariant.HuberSam }));
                variants.Add(("huber+lsmm", config with { Variant = ModelVariant.HuberLsmm }));
            }
            foreach (var item in (parse.GetValue(sweep) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(item, NumberStyles.Integer, CultureInfo.InvariantCulture, out int m) || m < 2)
                    throw new KarmaException($"--sweep-m takes endmember counts of at least 2 separated by commas (got '{item}').");
                variants.Add(($"karma-m{m}", config with { Endmembers = m }));
            }
            if (parse.GetValue(study))
            {
                variants.Add(("karma-random-learned", config with { EndmemberInit = EndmemberInitialisation.Random, LearnEndmembers = true }));
                variants.Add(("karma-vca-fixed", config with { EndmemberInit = EndmemberInitialisation.Vca, LearnEndmembers = false }));
                if (parse.GetValue(library) is { } lib)
                    variants.Add(("karma-library-fixed", RunOptions.WithEndmemberInit(config, "library:" + lib) with { LearnEndmembers = false }));
            }
            string dir = parse.GetValue(output)!;
            Print(Comparison.Run(spec, variants, dir, PretrainCommand.Execute, parse.GetValue(overwrite)), dir);
            return 0;
        });
        return command;
    }

    /// <summary>Prints the comparison as a table and says where the files are.</summary>
    public static void Print(IReadOnlyList<ComparisonEntry> entries, string dir)
    {
        static string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "–";
        var table = new Table().AddColumns("model", "PSNR (dB)", "SSIM", "SAM (°)", "RMSE", "PSNR phys", "SAM phys (°)", "time");
        foreach (var e in entries)
        {
            var m = e.Result.Metrics;
            table.AddRow(e.Name, F(m.Psnr, "F2"), F(m.Ssim, "F4"), F(m.SamDegrees, "F2"), F(m.Rmse, "F4"), F(m.PsnrPhys, "F2"), F(m.SamPhysDegrees, "F2"), $"{e.Seconds:F0} s");
        }
        AnsiConsole.Write(table);
        var first = entries[0].Result;
        Console.Out.WriteLine($"masked-patch metrics on {first.Metrics.Tiles} held-out tiles ({first.TrainTiles} training); table in {Path.GetFullPath(Path.Combine(dir, "comparison.md"))}");
    }
}
