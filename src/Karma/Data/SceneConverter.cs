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
            if (b < 0 || b >= scene.Bands) throw new InvalidSettingException(scene.Path, $"has no band {b + 1} (it has {scene.Bands}).");
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

    /// <summary>
    /// Resamples <paramref name="input"/> onto <paramref name="target"/>'s bands (Gaussian responses of the target's
    /// widths, <see cref="SpectralResampler"/>) and writes it to <paramref name="output"/>: the way to hand one sensor's
    /// scene to a tool or model made for another's bands. Bands flagged bad are left out of the source; target bands
    /// outside the source's range cannot be made and are dropped (counted in the result); a pixel that is no-data or
    /// NaN in any source band stays no-data.
    /// </summary>
    public static ResampleSummary Resample(string input, string output, SpectralBands target)
    {
        using var scene = HyperspectralScene.Open(input);
        var spectral = scene.Spectral ?? throw BandDescription.Missing(scene.Path);
        var good = Enumerable.Range(0, scene.Bands).Where(b => scene.Metadata.GoodBands is not { } g || g[b]).ToArray();
        var source = spectral.Select(good);
        double lo = source.Centres.Min(), hi = source.Centres.Max();
        var inside = Enumerable.Range(0, target.Count).Where(t => target.Centres[t] >= lo && target.Centres[t] <= hi).ToArray();
        if (inside.Length == 0)
            throw new BandMismatchException(scene.Path, $"covers {lo:0.#}–{hi:0.#} nm, which holds none of the {target.Count} target bands ({target.Centres.Min():0.#}–{target.Centres.Max():0.#} nm).");
        var kept = target.Select(inside);
        var resampler = new SpectralResampler(source, kept, scene.Path);
        var m = scene.Metadata;
        var metadata = m with { Wavelengths = kept.Centres, Fwhm = kept.Fwhm, GoodBands = null, BandNames = null, BandSource = null };
        using var writer = SceneWriter.Create(output, scene.Lines, scene.Samples, kept.Count, metadata);
        int widest = Math.Max(good.Length, kept.Count);
        int rowsPerBlock = (int)Math.Clamp((32L << 20) / Math.Max(1L, 4L * widest * scene.Samples), 1, scene.Lines);
        var block = new float[(long)good.Length * rowsPerBlock * scene.Samples];
        var resampled = new float[(long)kept.Count * rowsPerBlock * scene.Samples];
        float missing = m.NoDataValue is { } nd ? (float)nd : float.NaN;
        for (int row = 0; row < scene.Lines; row += rowsPerBlock)
        {
            int rows = Math.Min(rowsPerBlock, scene.Lines - row), pixels = rows * scene.Samples;
            var window = block.AsSpan(0, good.Length * pixels);
            scene.ReadWindow(row, 0, rows, scene.Samples, good, window);
            var result = resampled.AsSpan(0, kept.Count * pixels);
            resampler.Apply(window, result, pixels);
            for (int p = 0; p < pixels; p++)
            {
                bool invalid = false;
                for (int b = 0; b < good.Length && !invalid; b++)
                    invalid = window[b * pixels + p] is var v && (float.IsNaN(v) || v == missing);
                if (invalid)
                    for (int t = 0; t < kept.Count; t++) result[t * pixels + p] = missing;
            }
            writer.WriteWindow(row, 0, rows, scene.Samples, result);
        }
        writer.Commit();
        return new ResampleSummary(kept.Count, target.Count - kept.Count, lo, hi);
    }
}

/// <summary>What <see cref="SceneConverter.Resample"/> made: target bands written and dropped (outside the source's <paramref name="FromNm"/>–<paramref name="ToNm"/>).</summary>
public sealed record ResampleSummary(int Written, int Dropped, double FromNm, double ToNm);
