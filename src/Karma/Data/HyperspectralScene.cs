namespace Karma.Data;

/// <summary>
/// An open hyperspectral raster that is read in windows, never whole: every reader (ENVI, GeoTIFF, ...)
/// implements it, and tiling, statistics and inference work only through <see cref="ReadWindow"/>, so a
/// scene larger than memory is processed with bounded memory.
/// </summary>
public abstract class HyperspectralScene : IDisposable
{
    /// <summary>The file the scene was opened from.</summary>
    public required string Path { get; init; }
    /// <summary>Rows.</summary>
    public required int Lines { get; init; }
    /// <summary>Columns.</summary>
    public required int Samples { get; init; }
    /// <summary>Bands.</summary>
    public required int Bands { get; init; }
    /// <summary>Sample type as stored.</summary>
    public required RasterDataType DataType { get; init; }
    /// <summary>Storage order as stored.</summary>
    public required Interleave Interleave { get; init; }
    /// <summary>Wavelengths, no-data, scale, georeferencing.</summary>
    public required SceneMetadata Metadata { get => metadata; init => metadata = value; }

    SceneMetadata metadata = new();

    /// <summary>
    /// The scene's bands (centres and widths, in file order) or null when the file describes none and none was given.
    /// Missing or unusable widths (zero, negative) are estimated from the band spacing, and the description says so.
    /// </summary>
    public SpectralBands? Spectral
    {
        get
        {
            if (Metadata.Wavelengths is not { } centres) return null;
            var fwhm = Metadata.Fwhm is { } f && f.Length == centres.Length && f.All(w => double.IsFinite(w) && w > 0) ? f : null;
            try { return new SpectralBands(centres, fwhm, Metadata.BandSource ?? "file"); }
            catch (KarmaException e) { throw new BandMismatchException(Path, e.Message, e); }
        }
    }

    /// <summary>
    /// Replaces the file's band description by <paramref name="bands"/> (a sensor table, a wavelength file, an even
    /// range), e.g. for a MATLAB benchmark file that stores none.
    /// </summary>
    public void DescribeBands(SpectralBands bands)
    {
        if (bands.Count != Bands)
            throw new BandMismatchException(Path, $"has {Bands} bands but the band description gives {bands.Count}.");
        metadata = metadata with { Wavelengths = bands.Centres, Fwhm = bands.Fwhm, BandSource = bands.Source };
    }

    /// <summary>
    /// Reads the window of <paramref name="rows"/> × <paramref name="cols"/> pixels at (<paramref name="row"/>,
    /// <paramref name="col"/>) for the given bands (all bands when empty) into <paramref name="destination"/>
    /// laid out [band][row][col], as stored values converted to float (no scaling, no-data kept as is).
    /// </summary>
    public void ReadWindow(int row, int col, int rows, int cols, ReadOnlySpan<int> bands, Span<float> destination)
    {
        int nb = bands.IsEmpty ? Bands : bands.Length;
        if (row < 0 || col < 0 || rows < 0 || cols < 0 || row + rows > Lines || col + cols > Samples)
            throw new InvalidSettingException(Path, $"window ({row}, {col}) of {rows}×{cols} pixels lies outside the {Lines}×{Samples} scene.");
        if (destination.Length < (long)nb * rows * cols)
            throw new ArgumentException($"destination holds {destination.Length} values; the window needs {(long)nb * rows * cols}.");
        foreach (int b in bands)
            if (b < 0 || b >= Bands) throw new InvalidSettingException(Path, $"band {b} does not exist (the scene has {Bands}).");
        ReadWindowCore(row, col, rows, cols, bands.IsEmpty ? AllBands() : bands, destination);
    }

    /// <summary>Every band of one pixel exactly as stored (integers stay integers), before any scaling.</summary>
    public double[] ReadPixel(int row, int col)
    {
        if (row < 0 || col < 0 || row >= Lines || col >= Samples)
            throw new InvalidSettingException(Path, $"pixel ({row}, {col}) lies outside the {Lines}×{Samples} scene (rows and columns are 0-based).");
        return ReadPixelCore(row, col);
    }

    /// <summary>Reader-specific window read; arguments are already checked.</summary>
    protected abstract void ReadWindowCore(int row, int col, int rows, int cols, ReadOnlySpan<int> bands, Span<float> destination);

    /// <summary>Reader-specific exact pixel read; arguments are already checked.</summary>
    protected abstract double[] ReadPixelCore(int row, int col);

    int[] AllBands() => Enumerable.Range(0, Bands).ToArray();

    /// <summary>Whether the scene carries quality flags (clouds, shadows, ...) beyond no-data values.</summary>
    public virtual bool HasQualityMask => false;

    /// <summary>
    /// Marks in <paramref name="flagged"/> [row][col] the pixels of the window that quality layers flag (others
    /// are left as they are). Scenes without quality layers flag nothing.
    /// </summary>
    public void ReadQualityMask(int row, int col, int rows, int cols, Span<bool> flagged)
    {
        if (row < 0 || col < 0 || row + rows > Lines || col + cols > Samples)
            throw new InvalidSettingException(Path, $"window ({row}, {col}) of {rows}×{cols} pixels lies outside the {Lines}×{Samples} scene.");
        if (HasQualityMask) ReadQualityMaskCore(row, col, rows, cols, flagged);
    }

    /// <summary>Reader-specific quality flags; arguments are already checked.</summary>
    protected virtual void ReadQualityMaskCore(int row, int col, int rows, int cols, Span<bool> flagged) { }

    /// <summary>Releases file handles and mappings.</summary>
    public abstract void Dispose();

    /// <summary>
    /// Opens a scene, choosing the reader from the name: an EnMAP L2A product (its folder, spectral image or
    /// metadata), a GeoTIFF (<c>.tif</c>/<c>.tiff</c>), a MATLAB file (<c>.mat</c>, or <c>file.mat:variable</c>
    /// to pick the cube), or an ENVI header (<c>.hdr</c>) or its binary. A band description after an <c>@</c>
    /// (<c>scene.mat@aviris-classic</c>, <c>scene.mat@430:860</c>, <c>scene.mat@bands.txt</c>; see
    /// <see cref="BandDescription"/>) replaces the file's own.
    /// </summary>
    public static HyperspectralScene Open(string path)
    {
        var (file, spec) = BandDescription.Split(path);
        var scene = OpenFile(file);
        if (spec is null) return scene;
        try { scene.DescribeBands(BandDescription.Parse(spec, scene.Bands, scene.Path)); }
        catch
        {
            scene.Dispose();
            throw;
        }
        return scene;
    }

    static HyperspectralScene OpenFile(string path)
    {
        if (EnmapScene.IsProduct(path)) return EnmapScene.Open(path);
        if (Directory.Exists(path))
            throw new SceneFileException(path, "is a folder; give the scene file (an ENVI .hdr or its binary, a GeoTIFF, a .mat, or an EnMAP L2A product folder).");
        string file = MatScene.Split(path).File;
        if (!File.Exists(file) && !File.Exists(System.IO.Path.ChangeExtension(file, ".hdr")) && !File.Exists(file + ".hdr"))
            throw new SceneFileException(file, "does not exist.");
        if (file.EndsWith(".mat", StringComparison.OrdinalIgnoreCase))
            return MatScene.Open(path);
        if (file.EndsWith(".tif", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".tiff", StringComparison.OrdinalIgnoreCase))
            return GeoTiffScene.Open(path);
        return EnviScene.Open(path);
    }
}
