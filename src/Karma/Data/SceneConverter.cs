namespace Karma.Data;

/// <summary>
/// Copies any readable scene to ENVI or GeoTIFF (float32), keeping what tools tend to drop on export: wavelengths,
/// FWHM, the bad-band list, no-data, the reflectance scale, band names and georeferencing. Values are the stored ones,
/// not reflectance, so converting back gives the same numbers. Rows are streamed in blocks of bounded size, and the
/// output is written under a temporary name and renamed (<see cref="SceneWriter"/>).
/// </summary>
public static class SceneConverter
{
    /// <summary>Converts <paramref name="input"/> to <paramref name="output"/> (GeoTIFF for .tif/.tiff, else ENVI), optionally only <paramref name="bands"/> (0-based, in that order).</summary>
    public static void Convert(string input, string output, IReadOnlyList<int>? bands = null)
    {
        using var scene = HyperspectralScene.Open(input);
        var kept = (bands ?? Enumerable.Range(0, scene.Bands).ToArray()).ToArray();
        foreach (int b in kept)
            if (b < 0 || b >= scene.Bands) throw new KarmaException(scene.Path, $"has no band {b + 1} (it has {scene.Bands}).");
        var m = scene.Metadata;
        T[]? Pick<T>(T[]? all) => all is { } a && a.Length == scene.Bands ? kept.Select(b => a[b]).ToArray() : null;
        var metadata = m with { Wavelengths = Pick(m.Wavelengths), Fwhm = Pick(m.Fwhm), GoodBands = Pick(m.GoodBands), BandNames = Pick(m.BandNames) };
        using var writer = SceneWriter.Create(output, scene.Lines, scene.Samples, kept.Length, metadata);
        int rowsPerBlock = (int)Math.Clamp((64L << 20) / Math.Max(1L, 4L * kept.Length * scene.Samples), 1, scene.Lines);
        var block = new float[(long)kept.Length * rowsPerBlock * scene.Samples];
        for (int row = 0; row < scene.Lines; row += rowsPerBlock)
        {
            int rows = Math.Min(rowsPerBlock, scene.Lines - row);
            var window = block.AsSpan(0, kept.Length * rows * scene.Samples);
            scene.ReadWindow(row, 0, rows, scene.Samples, kept, window);
            writer.WriteWindow(row, 0, rows, scene.Samples, window);
        }
        writer.Commit();
    }
}
