using System.CommandLine;
using System.Text.Json;
using Karma.Anomaly;

namespace Karma.Cli.Commands;

/// <summary><c>karma implant IN OUT</c>: a copy of a scene with synthetic anomalies implanted, and their truth map.</summary>
static class ImplantCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("in") { Description = "Scene to implant targets into (ENVI, GeoTIFF, EnMAP L2A, .mat[:variable])." };
        var output = new Argument<string>("out") { Description = "The implanted scene: .tif/.tiff for GeoTIFF, anything else for ENVI; float32, the input's units and band information." };
        var truth = new Option<string?>("--truth") { Description = "Truth map to write (one band, 1 = implanted); default OUT's name with -truth.tif." };
        var count = new Option<int>("--count") { Description = "Targets to implant.", DefaultValueFactory = _ => 20 };
        var maxSize = new Option<int>("--max-size") { Description = "Targets are squares of 1 to this many pixels on a side.", DefaultValueFactory = _ => 3 };
        var fraction = new Option<string>("--fraction") { Description = "Range MIN,MAX of the share of a target pixel the implanted spectrum covers.", DefaultValueFactory = _ => "0.3,1" };
        var spacing = new Option<int>("--spacing") { Description = "Least gap in pixels between two targets (small gaps crowd targets into each other's local background).", DefaultValueFactory = _ => 8 };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the targets as JSON." };
        var command = new Command("implant", "Copy a scene with synthetic anomalies implanted (far pixels unlike the site, or pixels with an absorption feature cut in) and write their truth map, to test anomaly detectors where no ground truth exists.")
            { input, output, truth, count, maxSize, fraction, spacing, seed, json };
        KarmaCli.SetRun(command, parse =>
        {
            string source = parse.GetValue(input)!, target = parse.GetValue(output)!;
            string truthPath = parse.GetValue(truth) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(target))!, Path.GetFileNameWithoutExtension(target) + "-truth.tif");
            KarmaCli.CheckOutput(target, source);
            KarmaCli.CheckOutput(truthPath, source);
            static string Stem(string path) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileNameWithoutExtension(path));
            if (Stem(truthPath) == Stem(target))
                throw new KarmaException($"--truth {truthPath} and the implanted scene {target} would share a name; give --truth another one.");
            var range = KarmaCli.Numbers(parse.GetValue(fraction), 2)
                        ?? throw new KarmaException($"--fraction takes MIN,MAX (e.g. 0.3,1); got '{KarmaException.Quote(parse.GetValue(fraction), 40)}'.");
            var options = new ImplantOptions { Count = parse.GetValue(count), MaxSize = parse.GetValue(maxSize), MinFraction = range[0], MaxFraction = range[1],
                                           Spacing = parse.GetValue(spacing), Seed = parse.GetValue(seed) };
            var targets = AnomalyImplant.ImplantFile(source, target, truthPath, options);
            if (targets.Count < options.Count)
                Console.Error.WriteLine($"karma: note: placed {targets.Count} of {options.Count} targets: targets stay {options.Spacing} pixels apart (--spacing) and take their spectra from pixels at least {options.DonorDistance} pixels away, and the scene had no more room.");
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(targets, KarmaCli.Json));
                return 0;
            }
            Console.Out.WriteLine($"wrote {Path.GetFullPath(target)} with {targets.Count} targets ({targets.Sum(t => t.Size * t.Size)} pixels; " +
                                  $"{targets.Count(t => t.Kind == ImplantKind.Transplant)} transplanted, {targets.Count(t => t.Kind == ImplantKind.Absorption)} with an absorption feature) and {truthPath}");
            return 0;
        }, needsTorch: false);
        return command;
    }
}
