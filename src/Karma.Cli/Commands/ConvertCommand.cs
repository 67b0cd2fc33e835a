using System.CommandLine;
using Karma.Data;

namespace Karma.Cli.Commands;

/// <summary><c>karma convert IN OUT [--bands 1-50,60]</c>: any readable scene to ENVI or GeoTIFF with its band information and georeferencing.</summary>
static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("in") { Description = "Scene to convert (ENVI, GeoTIFF, EnMAP L2A, .mat[:variable]; @SPEC describes its bands)." };
        var output = new Argument<string>("out") { Description = "Output: .tif/.tiff for GeoTIFF (Deflate), anything else for ENVI BSQ; float32." };
        var bands = new Option<string?>("--bands") { Description = "Keep only these 1-based bands, e.g. 1-107,113-153." };
        var resampleTo = new Option<string?>("--resample-to") { Description = "Resample the spectra onto another band set: a sensor (enmap, aviris-classic, prisma, …) or a wavelength file (centre and optional FWHM per line); target bands outside the scene's range are dropped." };
        var command = new Command("convert", "Copy a scene to ENVI or GeoTIFF keeping wavelengths, FWHM, bad bands, no-data, scale and georeferencing; optionally resampled onto another sensor's bands.") { input, output, bands, resampleTo };
        var bandOptions = new BandOptions();
        bandOptions.AddTo(command);
        KarmaCli.SetRun(command, parse =>
        {
            string source = bandOptions.Apply(parse, [parse.GetValue(input)!])[0], target = parse.GetValue(output)!;
            KarmaCli.CheckOutput(target, source);
            if (parse.GetValue(resampleTo) is { } spec)
            {
                if (parse.GetValue(bands) is not null) throw new KarmaException("--bands and --resample-to do not combine: resampling already chooses the bands.");
                var made = SceneConverter.Resample(source, target, BandDescription.Target(spec, "--resample-to"));
                Console.Out.WriteLine($"wrote {Path.GetFullPath(target)}: {made.Written} bands of {spec}" +
                                      (made.Dropped > 0 ? $" ({made.Dropped} outside the scene's {made.FromNm:0.#}–{made.ToNm:0.#} nm dropped)" : ""));
                return 0;
            }
            int[]? kept = null;
            if (parse.GetValue(bands) is { } list)
            {
                using var scene = HyperspectralScene.Open(source);
                kept = SensorTables.ParseIndices(list, scene.Bands, "--bands").Select(i => i - 1).ToArray();
            }
            SceneConverter.Convert(source, target, kept);
            Console.Out.WriteLine($"wrote {Path.GetFullPath(target)}");
            return 0;
        }, needsTorch: false);
        return command;
    }
}
