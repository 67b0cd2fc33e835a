using System.CommandLine;
using System.Text.Json;
using Karma.Data;
using Spectre.Console;

namespace Karma.Cli.Commands;

/// <summary><c>karma info PATH [--pixel ROW,COL] [--json]</c>: size, type, layout, wavelengths and one pixel's stored values.</summary>
static class InfoCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "Scene file: ENVI (.hdr or its binary), GeoTIFF, or .mat[:variable]." };
        var pixel = new Option<string?>("--pixel") { Description = "ROW,COL (0-based): also print that pixel's values exactly as stored." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("info", "Describe a hyperspectral scene: size, data type, interleave, wavelengths, no-data.") { path, pixel, json };
        KarmaCli.SetRun(command, parse =>
        {
            string file = parse.GetValue(path)!;
            using var scene = HyperspectralScene.Open(file);
            double[]? spectrum = null;
            if (parse.GetValue(pixel) is { } p)
            {
                var parts = p.Split(',');
                if (parts.Length != 2 || !int.TryParse(parts[0], out int r) || !int.TryParse(parts[1], out int c))
                    throw new KarmaException($"--pixel must be ROW,COL with 0-based integers (got '{p}').");
                spectrum = scene.ReadPixel(r, c);
            }
            var m = scene.Metadata;
            var info = new
            {
                path = scene.Path, lines = scene.Lines, samples = scene.Samples, bands = scene.Bands,
                dataType = scene.DataType.Name(), interleave = scene.Interleave.ToString().ToLowerInvariant(),
                wavelengths = m.Wavelengths, fwhm = m.Fwhm, noDataValue = m.NoDataValue, reflectanceScale = m.ReflectanceScale,
                badBands = m.GoodBands?.Select((g, i) => (g, i)).Where(t => !t.g).Select(t => t.i).ToArray(),
                geoTransform = m.GeoTransform, spectrum,
            };
            if (parse.GetValue(json)) { Console.Out.WriteLine(JsonSerializer.Serialize(info, KarmaCli.Json)); return 0; }
            var table = new Table().AddColumn("field").AddColumn("value");
            table.AddRow("path", Markup.Escape(scene.Path)).AddRow("size", $"{scene.Lines} lines × {scene.Samples} samples × {scene.Bands} bands")
                 .AddRow("data type", info.dataType).AddRow("interleave", info.interleave)
                 .AddRow("wavelengths", m.Wavelengths is { } w ? $"{w[0]:F1}–{w[^1]:F1} nm" : "none")
                 .AddRow("no-data", m.NoDataValue?.ToString() ?? "none")
                 .AddRow("bad bands", info.badBands is { Length: > 0 } bb ? string.Join(", ", bb) : "none")
                 .AddRow("reflectance scale", m.ReflectanceScale?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none")
                 .AddRow("CRS", Markup.Escape(m.CoordinateSystem ?? "none"));
            if (spectrum is not null) table.AddRow("pixel", string.Join(", ", spectrum.Take(12)) + (spectrum.Length > 12 ? ", …" : ""));
            AnsiConsole.Write(table);
            return 0;
        }, needsTorch: false);
        return command;
    }
}
