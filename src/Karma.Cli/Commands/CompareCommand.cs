using Karma.Data;
using System.CommandLine;
using System.Globalization;
using Karma.Model;
using Karma.Training;
using Karma.Experiments;
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
        var labels = new Option<string?>("--labels") { Description = "Label map of the first --data scene: also report each model's linear-probe accuracy (5% of each class for training) next to raw spectra." };
        var truth = new Option<string[]>("--truth") { Description = "Unmixing truth for the first --data scene: also score each model's abundances and endmembers (SAD, abundance RMSE) next to VCA + FCLS.", AllowMultipleArgumentsPerToken = true };
        var sweepWeights = new Option<string?>("--sweep-loss-weights") { Description = "Also train KARMA with each λ1,λ2,λ3 triple, separated by semicolons, e.g. \"1,0.1,1;1,0,1;1,0.3,1\"." };
        var sweepMask = new Option<string?>("--sweep-mask-ratio") { Description = "Also train KARMA with each mask ratio, e.g. 0.5,0.75,0.9." };
        var baselines = new Option<bool>("--baselines") { Description = "Also score a non-learned interpolation floor and train a spectral-adapter MAE (SpectralEarth-style) and a spectral-spatial token MAE (SpectralGPT-style) on the same tiles and masks." };
        var folds = new Option<int>("--folds") { Description = "Split the --data scenes into K spatially disjoint folds; each is the test set once (never used for validation).", DefaultValueFactory = _ => 1 };
        var seeds = new Option<int>("--seeds") { Description = "Train each model with N seeds per fold; tables give mean ± std and the paired difference to the first model.", DefaultValueFactory = _ => 1 };
        var command = new Command("compare", "Train MAE and KARMA (and ablations, an M sweep) on the same tiles and budget; tabulate held-out metrics, over folds and seeds when asked.")
            { ablations, sweep, study, library, output, overwrite, truth, labels, folds, seeds, sweepWeights, sweepMask, baselines };
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
            foreach (var triple in (parse.GetValue(sweepWeights) ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var (h, s, p) = RunOptions.ParseLossWeights(triple);
                variants.Add(($"karma-w{triple.Replace(" ", "")}", config with { HuberWeight = h, SamWeight = s, PhysicsWeight = p }));
            }
            foreach (var item in (parse.GetValue(sweepMask) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out double r) || r < 0 || r >= 1)
                    throw new KarmaException($"--sweep-mask-ratio takes ratios in [0, 1) separated by commas (got '{item}').");
                variants.Add(($"karma-mask{item}", (config with { MaskRatio = r }).Validate()));
            }
            if (parse.GetValue(baselines))
            {
                variants.Add(("mae-adapter", config with { Variant = ModelVariant.Mae, SpectralEmbedding = SpectralEmbedding.Adapter, SpectralDim = Math.Max(config.SpectralDim, 32) }));
                variants.Add(("mae-spectral-spatial", config with { Variant = ModelVariant.Mae, SpectralEmbedding = SpectralEmbedding.SpectralSpatial }));
            }
            if (parse.GetValue(study))
            {
                variants.Add(("karma-random-learned", config with { EndmemberInit = EndmemberInitialisation.Random, LearnEndmembers = true }));
                variants.Add(("karma-vca-fixed", config with { EndmemberInit = EndmemberInitialisation.Vca, LearnEndmembers = false }));
                if (parse.GetValue(library) is { } lib)
                    variants.Add(("karma-library-fixed", RunOptions.WithEndmemberInit(config, "library:" + lib) with { LearnEndmembers = false }));
            }
            string dir = parse.GetValue(output)!;
            if (parse.GetValue(folds) > 1 || parse.GetValue(seeds) > 1)
            {
                if (parse.GetValue(truth) is { Length: > 0 } || parse.GetValue(labels) is not null)
                    throw new KarmaException("--truth and --labels score single runs; use them without --folds/--seeds.");
                var runs = RepeatedComparison.Run(spec, variants, parse.GetValue(folds), parse.GetValue(seeds), dir, PretrainCommand.Execute, parse.GetValue(overwrite), parse.GetValue(baselines));
                Console.Out.Write(RepeatedComparison.Markdown(RepeatedComparison.Summarise(runs), Math.Max(1, parse.GetValue(folds)), parse.GetValue(seeds)));
                Console.Out.WriteLine($"per-run values in {Path.GetFullPath(Path.Combine(dir, "comparison.json"))}");
                return 0;
            }
            var entries = Comparison.Run(spec, variants, dir, PretrainCommand.Execute, parse.GetValue(overwrite), parse.GetValue(baselines));
            Print(entries, dir);
            string firstScene = spec.Data.Length > 0 ? spec.Data[0] : Path.Combine(dir, "simulated", "scene.hdr");
            if (parse.GetValue(truth) is { Length: > 0 } truthFiles) ScoreUnmixing(entries, firstScene, truthFiles, dir);
            if (parse.GetValue(labels) is { } labelMap) ScoreProbe(entries, firstScene, labelMap, dir, spec.Training.Seed);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Unmixes <paramref name="scenePath"/> with every model that has a physics branch and with VCA + FCLS, scores
    /// each against the truth, prints the table and writes it to <c>unmixing.md</c>.
    /// </summary>
    public static void ScoreUnmixing(IReadOnlyList<ComparisonEntry> entries, string scenePath, string[] truthFiles, string dir)
    {
        using var scene = Data.HyperspectralScene.Open(scenePath);
        var rows = new List<(string Name, Unmixing.UnmixingScore Score)>();
        foreach (var entry in entries.Where(e => e.Config.HasPhysicsBranch && Directory.Exists(Path.Combine(dir, e.Name))))
        {
            var (model, meta) = ModelCheckpoint.Load(Path.Combine(dir, entry.Name));
            using (model)
            {
                var cube = meta.Read(scene);
                rows.Add((entry.Name, Unmixing.UnmixingScore.Compute(Unmixing.SceneUnmixing.Karma(model, cube), Unmixing.UnmixingTruth.Read(truthFiles, cube.Rows, cube.Cols, cube.Bands))));
            }
        }
        var baseCube = ReflectanceCube.Read(scene, new Data.TilingOptions());
        var baseTruth = Unmixing.UnmixingTruth.Read(truthFiles, baseCube.Rows, baseCube.Cols, baseCube.Bands);
        rows.Add(("vca-fcls", Unmixing.UnmixingScore.Compute(Unmixing.SceneUnmixing.VcaFcls(baseCube, baseTruth.Count), baseTruth)));
        static string F(double? v, string f) => v is { } x && double.IsFinite(x) ? x.ToString(f, CultureInfo.InvariantCulture) : "–";
        var table = new Table().AddColumns("unmixing", "SAD (°)", "abundance RMSE");
        var md = new System.Text.StringBuilder("| unmixing | SAD (°) | abundance RMSE |\n|---|---|---|\n");
        foreach (var (name, score) in rows)
        {
            table.AddRow(name, F(score.MeanSadDegrees, "F2"), F(score.MeanAbundanceRmse, "F4"));
            md.Append($"| {name} | {F(score.MeanSadDegrees, "F2")} | {F(score.MeanAbundanceRmse, "F4")} |\n");
        }
        AnsiConsole.Write(table);
        AtomicFiles.WriteText(Path.Combine(dir, "unmixing.md"), md.ToString());
    }

    /// <summary>
    /// Linear-probe accuracy of every model's frozen features on <paramref name="scenePath"/> (5% of each class
    /// trains, the rest tests; one split for all) next to the same probe on raw spectra; printed and written to
    /// <c>probe.md</c>.
    /// </summary>
    public static void ScoreProbe(IReadOnlyList<ComparisonEntry> entries, string scenePath, string labelPath, string dir, int seed)
    {
        using var scene = Data.HyperspectralScene.Open(scenePath);
        var rows = new List<(string Name, Evaluation.ClassificationMetrics Metrics)>();
        int[]? map = null;
        Downstream.LabelSplit? split = null;
        foreach (var entry in entries.Where(e => Directory.Exists(Path.Combine(dir, e.Name))))
        {
            var (model, meta) = ModelCheckpoint.Load(Path.Combine(dir, entry.Name));
            using (model)
            {
                var cube = meta.Read(scene);
                map ??= LabelMap.Read(labelPath, cube.Rows, cube.Cols);
                split ??= Downstream.LabelSplit.Create(map, cube.Rows, cube.Cols, 0, 0.05, null, spatial: false, seed);
                var truth = split.Test.Select(p => map[p]).ToArray();
                if (rows.Count == 0)
                    rows.Add(("raw spectra", Evaluation.ClassificationMetrics.Compute(truth, Downstream.LinearProbe.FitPredict(Downstream.PixelFeatures.Spectra(cube), map, split.Train, split.Test, seed))));
                rows.Add((entry.Name, Evaluation.ClassificationMetrics.Compute(truth, Downstream.LinearProbe.FitPredict(Downstream.PixelFeatures.Encode(model, cube), map, split.Train, split.Test, seed))));
            }
        }
        var table = new Table().AddColumns("probe features", "OA", "AA", "kappa", "mIoU");
        var md = new System.Text.StringBuilder("| probe features | OA | AA | kappa | mIoU |\n|---|---|---|---|---|\n");
        foreach (var (name, m) in rows)
        {
            table.AddRow(name, $"{m.Oa:P1}", $"{m.Aa:P1}", $"{m.Kappa:F3}", $"{m.Miou:P1}");
            md.Append(CultureInfo.InvariantCulture, $"| {name} | {m.Oa:P1} | {m.Aa:P1} | {m.Kappa:F3} | {m.Miou:P1} |\n");
        }
        AnsiConsole.Write(table);
        AtomicFiles.WriteText(Path.Combine(dir, "probe.md"), md.ToString());
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
