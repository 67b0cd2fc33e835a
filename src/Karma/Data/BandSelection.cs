namespace Karma.Data;

/// <summary>How bands where two spectrometers overlap are treated (EnMAP's VNIR and SWIR near 900–1000 nm, AVIRIS-classic's four).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<OverlapPolicy>))]
public enum OverlapPolicy
{
    /// <summary>Keep every band (default): both spectrometers' measurements are real; order-dependent steps sort by centre.</summary>
    Keep,
    /// <summary>In each overlap keep the shorter-wavelength spectrometer's bands (EnMAP: the VNIR) and drop the other's.</summary>
    Lower,
    /// <summary>In each overlap keep the longer-wavelength spectrometer's bands (EnMAP: the SWIR) and drop the other's.</summary>
    Upper,
}

/// <summary>
/// Which bands of a scene a model sees. Bad bands are dropped in this order: those the file flags
/// (ENVI <c>bbl</c>, GDAL <c>bbl</c>, EnMAP no-data bands), bands with no valid value in the scene, then
/// one side of each spectrometer overlap when asked (<see cref="Overlap"/>), optionally the atmospheric
/// water-vapour windows, then anything outside a wavelength range. Every test is per band, so the same bands are
/// dropped whatever order the file stores them in; the kept bands stay in the file's order.
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
    /// <summary>Drop bands in which every inspected pixel is no-data, not finite or zero. Default true.</summary>
    public bool DropEmpty { get; init; } = true;
    /// <summary>Windows (nm) whose bands are dropped; empty by default (the paper keeps them).</summary>
    public IReadOnlyList<WavelengthRange> DropWindows { get; init; } = [];
    /// <summary>Keep only bands at or above this wavelength (nm).</summary>
    public double? MinWavelength { get; init; }
    /// <summary>Keep only bands at or below this wavelength (nm).</summary>
    public double? MaxWavelength { get; init; }
    /// <summary>What to do where two spectrometers overlap; default <see cref="OverlapPolicy.Keep"/>.</summary>
    public OverlapPolicy Overlap { get; init; } = OverlapPolicy.Keep;

    /// <summary>The default selection plus the water-vapour windows.</summary>
    public static BandSelection WithoutWaterVapour { get; } = new() { DropWindows = WaterVapourWindows };

    /// <summary>Indices of the bands of <paramref name="scene"/> to keep, ascending.</summary>
    public int[] Choose(HyperspectralScene scene)
    {
        var bands = scene.Spectral;
        var wl = bands?.Centres;
        bool needsWavelengths = DropWindows.Count > 0 || MinWavelength is not null || MaxWavelength is not null || Overlap != OverlapPolicy.Keep;
        if (needsWavelengths && wl is null)
            throw new BandMismatchException(scene.Path, "has no band wavelengths, so bands cannot be selected by wavelength. " +
                                                 "Describe them (a wavelength file, a range or a sensor table) or drop the selection by wavelength.") { Settings = ["Wavelengths", "Sensor"] };
        var empty = DropEmpty ? EmptyBands(scene) : new bool[scene.Bands];
        var overlapping = bands is null ? new bool[scene.Bands] : OverlapBands(bands, Overlap);
        var keep = Enumerable.Range(0, scene.Bands).Where(b =>
            !(DropFlagged && scene.Metadata.GoodBands is { } good && !good[b]) && !empty[b] && !overlapping[b] &&
            (wl is null || (!DropWindows.Any(w => w.Contains(wl[b])) &&
                            wl[b] >= (MinWavelength ?? double.NegativeInfinity) && wl[b] <= (MaxWavelength ?? double.PositiveInfinity)))).ToArray();
        if (keep.Length == 0)
            throw new BandMismatchException(scene.Path, "has no band left after dropping flagged, empty and out-of-range bands. Check the bad-band list and the wavelength range.");
        return keep;
    }

    /// <summary>
    /// The bands <paramref name="policy"/> drops: in each overlap of consecutive spectrometers, the upper one's bands
    /// at or below the lower one's last centre (<see cref="OverlapPolicy.Lower"/>), or the lower one's bands at or above
    /// the upper one's first centre (<see cref="OverlapPolicy.Upper"/>).
    /// </summary>
    public static bool[] OverlapBands(SpectralBands bands, OverlapPolicy policy)
    {
        var drop = new bool[bands.Count];
        if (policy == OverlapPolicy.Keep) return drop;
        foreach (var overlap in bands.Overlaps())
        {
            var (side, inside) = policy == OverlapPolicy.Lower
                ? (overlap.Upper, (Func<double, bool>)(c => c <= bands.Centres[overlap.Lower.End.Value - 1]))
                : (overlap.Lower, c => c >= bands.Centres[overlap.Upper.Start.Value]);
            for (int b = side.Start.Value; b < side.End.Value; b++)
                if (inside(bands.Centres[b])) drop[b] = true;
        }
        return drop;
    }

    /// <summary>
    /// Bands in which no inspected pixel holds a valid, non-zero value: left empty by the processor, or zeroed the way
    /// benchmark files blank their water-absorption bands (the 224-band AVIRIS scene here). Up to 64 evenly spaced rows
    /// are read in full, which finds them without reading a large scene.
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
                        if (v != 0 && float.IsFinite(v) && !(noData is { } nd && v == nd)) { empty[b] = false; break; }
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
