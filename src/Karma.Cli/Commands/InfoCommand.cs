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
        var bandOptions = new BandOptions();
        var command = new Command("info", "Describe a hyperspectral scene: size, data type, interleave, wavelengths and where they came from, spectrometer overlaps, no-data.") { path, pixel, json };
        bandOptions.AddTo(command);
        KarmaCli.SetRun(command, parse =>
        {
            string file = bandOptions.Apply(parse, [parse.GetValue(path)!])[0];
            using var scene = HyperspectralScene.Open(file);
            double[]? spectrum = null;
            if (parse.GetValue(pixel) is { } p)
            {
                var at = KarmaCli.Integers(p, 2)
                         ?? throw new KarmaException(file, $"--pixel must be ROW,COL with 0-based integers (got '{KarmaException.Quote(p, 40)}').");
                spectrum = scene.ReadPixel(at[0], at[1]);
            }
            var m = scene.Metadata;
            var spectral = scene.Spectral;
            var overlaps = spectral?.Overlaps().Select(o => new { fromNm = o.From, toNm = o.To, lowerBands = OneBased(o.Lower), upperBands = OneBased(o.Upper) }).ToArray();
            var dropped = spectral is null ? null : new { lower = Dropped(spectral, OverlapPolicy.Lower), upper = Dropped(spectral, OverlapPolicy.Upper) };
            var empty = BandSelection.EmptyBands(scene);
            int kept = new BandSelection().Choose(scene).Length;
            var info = new
            {
                path = scene.Path, lines = scene.Lines, samples = scene.Samples, bands = scene.Bands,
                dataType = scene.DataType.Name(), interleave = scene.Interleave.ToString().ToLowerInvariant(),
                wavelengths = m.Wavelengths, fwhm = spectral?.Fwhm ?? m.Fwhm, bandSource = spectral?.Source,
                spectrometers = spectral?.Spectrometers().Select(OneBased).ToArray(), overlaps, overlapDrops = dropped,
                noDataValue = m.NoDataValue, reflectanceScale = m.ReflectanceScale,
                badBands = m.GoodBands?.Select((g, i) => (g, i)).Where(t => !t.g).Select(t => t.i).ToArray(),
                emptyBands = Enumerable.Range(0, scene.Bands).Where(b => empty[b]).ToArray(), keptBands = kept,
                geoTransform = m.GeoTransform, spectrum,
            };
            if (parse.GetValue(json)) { Console.Out.WriteLine(JsonSerializer.Serialize(info, KarmaCli.Json)); return 0; }
            var table = new Table().AddColumn("field").AddColumn("value");
            table.AddRow("path", Markup.Escape(scene.Path)).AddRow("size", $"{scene.Lines} lines × {scene.Samples} samples × {scene.Bands} bands")
                 .AddRow("data type", info.dataType).AddRow("interleave", info.interleave)
                 .AddRow("wavelengths", spectral is null ? "none (describe them with --wavelengths or --sensor)" : Markup.Escape(spectral.ToString()))
                 .AddRow("bands from", Markup.Escape(spectral?.Source ?? "–"))
                 .AddRow("FWHM", spectral is null ? "–" : $"{spectral.Fwhm.Min():0.##}–{spectral.Fwhm.Max():0.##} nm")
                 .AddRow("overlaps", overlaps is { Length: > 0 }
                     ? Markup.Escape(string.Join("; ", overlaps.Select(o => $"{o.fromNm:0.#}–{o.toNm:0.#} nm between bands {o.lowerBands} and {o.upperBands}"))
                       + $" (all kept by default; --overlap lower drops bands {string.Join(", ", dropped!.lower)}, upper drops {string.Join(", ", dropped.upper)})")
                     : "none")
                 .AddRow("no-data", m.NoDataValue?.ToString() ?? "none")
                 .AddRow("bad bands", info.badBands is { Length: > 0 } bb ? string.Join(", ", bb) : "none")
                 .AddRow("empty bands", info.emptyBands.Length > 0 ? $"{info.emptyBands.Length} (no valid non-zero value in sampled rows): {string.Join(", ", info.emptyBands)}" : "none")
                 .AddRow("bands a model reads", $"{kept} of {scene.Bands} (flagged and empty bands dropped)")
                 .AddRow("reflectance scale", m.ReflectanceScale?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none")
                 .AddRow("CRS", Markup.Escape(m.CoordinateSystem ?? "none"));
            if (spectrum is not null) table.AddRow("pixel", string.Join(", ", spectrum.Take(12)) + (spectrum.Length > 12 ? ", …" : ""));
            AnsiConsole.Write(table);
            return 0;
        }, needsTorch: false);
        return command;
    }

    static string OneBased(Range r) => $"{r.Start.Value + 1}–{r.End.Value}";

    /// <summary>The 1-based bands a policy drops, e.g. "92–101".</summary>
    static string[] Dropped(SpectralBands bands, OverlapPolicy policy)
    {
        var drop = BandSelection.OverlapBands(bands, policy);
        var ranges = new List<string>();
        for (int b = 0; b < drop.Length; b++)
        {
            if (!drop[b]) continue;
            int end = b;
            while (end + 1 < drop.Length && drop[end + 1]) end++;
            ranges.Add(end == b ? $"{b + 1}" : $"{b + 1}–{end + 1}");
            b = end;
        }
        return ranges.ToArray();
    }
}
