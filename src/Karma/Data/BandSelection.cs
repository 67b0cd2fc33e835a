namespace Karma.Data;

/// <summary>
/// Which bands of a scene a model sees. Bad bands are dropped in this order: those the file flags
/// (ENVI <c>bbl</c>, GDAL <c>bbl</c>, EnMAP no-data bands), bands with no valid value in the scene, then
/// optionally the atmospheric water-vapour windows, then anything outside a wavelength range.
/// </summary>
/// <remarks>
/// An EnMAP L2A product has 224 bands; its own bad-band list marks 6 (1331–1391 nm, deep in the 1.4 µm
/// water-vapour absorption), which leaves the paper's 218. Also dropping the water-vapour windows gives the
/// ~200-band sets of HySpecNet-11k/SpectralEarth.
/// </remarks>
public sealed record BandSelection
{
    /// <summary>The two strong water-vapour absorption windows (nm) where surface reflectance is unreliable.</summary>
    public static readonly WavelengthRange[] WaterVapourWindows = [new(1340, 1460), new(1790, 1960)];

    /// <summary>Drop bands the file flags as bad. Default true.</summary>
    public bool DropFlagged { get; init; } = true;
    /// <summary>Drop bands in which every inspected pixel is no-data or not finite. Default true.</summary>
    public bool DropEmpty { get; init; } = true;
    /// <summary>Windows (nm) whose bands are dropped; empty by default (the paper keeps them).</summary>
    public IReadOnlyList<WavelengthRange> DropWindows { get; init; } = [];
    /// <summary>Keep only bands at or above this wavelength (nm).</summary>
    public double? MinWavelength { get; init; }
    /// <summary>Keep only bands at or below this wavelength (nm).</summary>
    public double? MaxWavelength { get; init; }

    /// <summary>The default selection plus the water-vapour windows.</summary>
    public static BandSelection WithoutWaterVapour { get; } = new() { DropWindows = WaterVapourWindows };

    /// <summary>Indices of the bands of <paramref name="scene"/> to keep, ascending.</summary>
    public int[] Choose(HyperspectralScene scene)
    {
        var wl = scene.Metadata.Wavelengths;
        bool needsWavelengths = DropWindows.Count > 0 || MinWavelength is not null || MaxWavelength is not null;
        if (needsWavelengths && wl is null)
            throw new KarmaException(scene.Path, "has no band wavelengths, so bands cannot be selected by wavelength. Add them to the header or drop the wavelength options.");
        var empty = DropEmpty ? EmptyBands(scene) : new bool[scene.Bands];
        var keep = Enumerable.Range(0, scene.Bands).Where(b =>
            !(DropFlagged && scene.Metadata.GoodBands is { } good && !good[b]) && !empty[b] &&
            (wl is null || (!DropWindows.Any(w => w.Contains(wl[b])) &&
                            wl[b] >= (MinWavelength ?? double.NegativeInfinity) && wl[b] <= (MaxWavelength ?? double.PositiveInfinity)))).ToArray();
        if (keep.Length == 0)
            throw new KarmaException(scene.Path, "has no band left after dropping flagged, empty and out-of-range bands. Check the bad-band list and the wavelength range.");
        return keep;
    }

    /// <summary>
    /// Bands in which no inspected pixel holds a valid value. Up to 64 evenly spaced rows are read in full,
    /// which finds bands left empty by the processor without reading a large scene.
    /// </summary>
    public static bool[] EmptyBands(HyperspectralScene scene)
    {
        var empty = Enumerable.Repeat(true, scene.Bands).ToArray();
        double? noData = scene.Metadata.NoDataValue;
        var row = new float[scene.Bands * scene.Samples];
        int step = Math.Max(1, scene.Lines / 64);
        for (int r = 0; r < scene.Lines; r += step)
        {
            scene.ReadWindow(r, 0, 1, scene.Samples, [], row);
            for (int b = 0; b < scene.Bands; b++)
                if (empty[b])
                    for (int c = 0; c < scene.Samples; c++)
                    {
                        float v = row[b * scene.Samples + c];
                        if (float.IsFinite(v) && !(noData is { } nd && v == nd)) { empty[b] = false; break; }
                    }
        }
        return empty;
    }
}

/// <summary>A closed wavelength interval in nanometres.</summary>
public readonly record struct WavelengthRange(double From, double To)
{
    /// <summary>True when <paramref name="nm"/> lies in the interval.</summary>
    public bool Contains(double nm) => nm >= From && nm <= To;
}
