using System.CommandLine;
using Karma.Data;
using Karma.Reporting;

namespace Karma.Cli.Commands;

/// <summary><c>karma preview</c>: a true- or false-colour PNG of any scene.</summary>
static class PreviewCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("scene") { Description = "Scene file (ENVI, GeoTIFF, EnMAP product, .mat[:variable])." };
        var output = new Option<string>("--out") { Description = "PNG to write.", Required = true };
        var colours = new Option<string>("--colour") { Description = "true (640/550/460 nm), false (860/650/550 nm) or R,G,B in nm.", DefaultValueFactory = _ => "true" };
        var command = new Command("preview", "Write a colour composite of a scene (bands by wavelength, 2–98% stretch) as PNG.") { path, output, colours };
        KarmaCli.SetRun(command, parse =>
        {
            string c = parse.GetValue(colours)!;
            var nm = c switch
            {
                "true" => ScenePreview.TrueColour,
                "false" => ScenePreview.FalseColour,
                _ => c.Split(',') is [var r, var g, var b] && double.TryParse(r, System.Globalization.CultureInfo.InvariantCulture, out double rr)
                     && double.TryParse(g, System.Globalization.CultureInfo.InvariantCulture, out double gg) && double.TryParse(b, System.Globalization.CultureInfo.InvariantCulture, out double bb)
                     ? (rr, gg, bb) : throw new KarmaException($"--colour takes true, false or R,G,B in nm (got '{c}')."),
            };
            KarmaCli.CheckOutput(parse.GetValue(output)!, parse.GetValue(path));
            using var scene = HyperspectralScene.Open(parse.GetValue(path)!);
            ScenePreview.Write(scene, parse.GetValue(output)!, nm);
            Console.Out.WriteLine($"preview: {Path.GetFullPath(parse.GetValue(output)!)}");
            return 0;
        }, needsTorch: false);
        return command;
    }
}
