using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Karma.Data;
using Karma.Model;
using Karma.Unmixing;
using Karma.Reporting;
using Spectre.Console;

namespace Karma.Cli.Commands;

/// <summary><c>karma unmix</c>: abundance maps and endmembers from a KARMA model or the classic VCA + FCLS, scored against truth.</summary>
static class UnmixCommand
{
    public static Command Create()
    {
        var data = new Option<string[]>("--data") { Description = "Scene(s) or folders to unmix; several, or a shard, write one folder per scene into --out.", Required = true, AllowMultipleArgumentsPerToken = true };
        var method = new Option<string?>("--method") { Description = "karma (the --checkpoint model, else the default model), vca-fcls, or fcls (endmembers from --library, or from the --checkpoint model). Default: karma with a checkpoint, else vca-fcls." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Run folder of a KARMA model." };
        var endmembers = new Option<int?>("--endmembers") { Description = "Endmembers M for vca-fcls (default: the truth's count, else 5)." };
        var library = new Option<string?>("--library") { Description = "Spectral library (ENVI .sli/.hdr or CSV): match endmembers to it, or use it as the endmembers with --method fcls." };
        var truth = new Option<string[]>("--truth") { Description = "Ground truth: .mat (endmembers and/or abundances), CSV endmember spectra, or a raster of abundances/cover fractions; several may be given.", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "Output folder.", Required = true };
        var seed = new Option<int>("--seed") { Description = "Seed for VCA.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON." };
        var bands = new BandOptions();
        var command = new Command("unmix", "Unmix a scene: abundance maps, endmember spectra and error maps; SAD and abundance RMSE against truth.")
            { data, method, checkpoint, endmembers, library, truth, output, seed, json };
        bands.AddTo(command);
        var batch = new SceneBatch();
        batch.AddTo(command);
        KarmaCli.SetRun(command, parse =>
        {
            var scenes = bands.Apply(parse, SceneCatalog.Expand(parse.GetValue(data)!, new List<string>()));
            string dir = parse.GetValue(output)!;
            KarmaCli.CheckOutput(dir, [.. scenes, parse.GetValue(checkpoint)]);
            // One model and one library for every scene, loaded when first needed.
            (KarmaModel Model, ModelCheckpoint.Metadata Meta)? loaded = null;
            SpectralLibrary? lib = null;
            var inputs = new UnmixInputs(
                () => loaded ??= ModelCheckpoint.Load(DefaultModel.Resolve(parse.GetValue(checkpoint))),
                () => parse.GetValue(library) is { } l ? lib ??= SpectralLibrary.Read(l) : null);
            try { return Report(parse, scenes, dir, inputs, batch, method, checkpoint, endmembers, truth, seed, json); }
            finally { loaded?.Model.Dispose(); }
        });
        return command;
    }

    /// <summary>Unmixes every scene (a batch) or the one scene, printing its summary.</summary>
    static int Report(ParseResult parse, IReadOnlyList<string> scenes, string dir, UnmixInputs inputs, SceneBatch batch, Option<string?> method,
                      Option<string?> checkpoint, Option<int?> endmembers, Option<string[]> truth, Option<int> seed, Option<bool> json)
    {
        if (batch.Active(parse, scenes))
        {
            batch.Run(parse, scenes, dir, "", folder: true, (path, target) => Unmix(parse, path, target, inputs, method, checkpoint, endmembers, truth, seed));
            return 0;
        }
        var (result, summary, score, matches, how) = Unmix(parse, scenes[0], dir, inputs, method, checkpoint, endmembers, truth, seed);
        if (parse.GetValue(json)) { Console.Out.WriteLine(JsonSerializer.Serialize(summary, KarmaCli.Json)); return 0; }
        static string F(double? v, string f) => v is { } x && double.IsFinite(x) ? x.ToString(f, CultureInfo.InvariantCulture) : "–";
        Console.Out.WriteLine($"{how}: {result.Count} endmembers, mean reconstruction RMSE {F(summary.MeanErrorRmse, "F4")}; outputs in {Path.GetFullPath(dir)}");
        if (score is not null)
        {
            var table = new Table().AddColumns("reference", "matched endmember", "SAD (°)", "abundance RMSE", "dominant agrees");
            for (int i = 0; i < score.Names.Length; i++)
                table.AddRow(Markup.Escape(score.Names[i]), $"{score.MatchedEstimate[i] + 1}", F(score.SadDegrees?[i], "F2"), F(score.AbundanceRmse?[i], "F4"), F(score.DominantAgreement?[i], "P1"));
            table.AddRow("[bold]mean[/]", "", F(score.MeanSadDegrees, "F2"), F(score.MeanAbundanceRmse, "F4"), F(score.MeanDominantAgreement, "P1"));
            AnsiConsole.Write(table);
        }
        if (matches is not null)
            foreach (var match in matches) Console.Out.WriteLine($"endmember {match.Endmember} ≈ {match.Name} ({match.SadDegrees:F1}°)");
        return 0;
    }

    /// <summary>What every scene of one run shares, each loaded on first use: the model (checkpoint or default) and the spectral library.</summary>
    sealed record UnmixInputs(Func<(KarmaModel Model, ModelCheckpoint.Metadata Meta)> Model, Func<SpectralLibrary?> Library);

    /// <summary>Unmixes one scene with the method the options choose and writes its outputs into <paramref name="dir"/>.</summary>
    static (UnmixingResult Result, UnmixingSummary Summary, UnmixingScore? Score, LibraryMatch[]? Matches, string How) Unmix(
        ParseResult parse, string path, string dir, UnmixInputs inputs, Option<string?> method, Option<string?> checkpoint, Option<int?> endmembers,
        Option<string[]> truth, Option<int> seed)
    {
        string? ckpt = parse.GetValue(checkpoint);
        string how = parse.GetValue(method) ?? (ckpt is null ? "vca-fcls" : "karma");
        var truthFiles = parse.GetValue(truth)?.Select(t => SceneBatch.ForScene(t, path)).ToArray();
        UnmixingTruth? truthData = null;
        UnmixingTruth? Truth(ReflectanceCube cube) => truthFiles is { Length: > 0 } ? truthData ??= UnmixingTruth.Read(truthFiles, cube.Rows, cube.Cols, cube.Bands) : null;
        using var scene = HyperspectralScene.Open(path);
        UnmixingResult result;
        ReflectanceCube cube;
        // Truth is compared band for band, so classic methods keep every band the file does not flag.
        var tiling = new TilingOptions();
        switch (how)
        {
            case "karma":
                var (model, meta) = inputs.Model();
                cube = meta.Read(scene);
                result = SceneUnmixing.Karma(model, cube);
                break;
            case "vca-fcls":
                cube = ReflectanceCube.Read(scene, tiling);
                int m = parse.GetValue(endmembers) ?? Truth(cube)?.Count ?? 5;
                if (m < 2 || m > Math.Min(cube.Bands, cube.Rows * cube.Cols))
                    throw new KarmaException(path, $"--endmembers must be between 2 and {Math.Min(cube.Bands, cube.Rows * cube.Cols)} for this scene ({cube.Bands} bands after band selection); got {m}.");
                result = SceneUnmixing.VcaFcls(cube, m, parse.GetValue(seed));
                break;
            case "fcls" when ckpt is not null && inputs.Library() is null:
                // FCLS with the model's own endmembers: the reference its abundances are measured against.
                var (endmemberModel, endmemberMeta) = inputs.Model();
                cube = endmemberMeta.Read(scene);
                result = SceneUnmixing.Fcls(cube, SceneUnmixing.KarmaEndmembers(endmemberModel, cube), "fcls (model endmembers)");
                break;
            case "fcls":
                cube = ReflectanceCube.Read(scene, tiling);
                var lib = inputs.Library() ?? throw new KarmaException("--method fcls takes its endmembers from --library PATH or from the model given by --checkpoint.");
                result = SceneUnmixing.Fcls(cube, lib.ResampleTo(cube.Wavelengths ?? throw new KarmaException(path, "has no wavelengths to resample the library to.")));
                break;
            default:
                throw new KarmaException($"--method must be karma, vca-fcls or fcls (got '{how}').");
        }
        LibraryMatch[]? matches = inputs.Library() is { } library && cube.Wavelengths is { } wl ? UnmixingReport.MatchLibrary(result, library, wl) : null;
        UnmixingScore? score = Truth(cube) is { } scoredAgainst ? UnmixingScore.Compute(result, scoredAgainst) : null;
        var summary = UnmixingReport.Write(result, cube, dir, matches, score);
        return (result, summary, score, matches, how);
    }
}
