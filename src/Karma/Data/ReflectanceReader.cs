namespace Karma.Data;

/// <summary>
/// Reads windows of a scene as the model sees them: the bands <see cref="TilingOptions.Bands"/> keeps (resampled
/// when asked), stored values divided by the reflectance scale, and a flag per pixel for no-data, non-finite
/// values or quality flags such as clouds (whose spectra are set to 0). Tiling, unmixing and inference all read through it, so they agree.
/// </summary>
public sealed class ReflectanceReader
{
    readonly HyperspectralScene scene;
    readonly int[] kept;
    readonly SpectralResampler? resampler;
    readonly double scale;
    float[] buffer = [];

    /// <summary>Bands per pixel after selection and resampling.</summary>
    public int Bands { get; }
    /// <summary>Centres and widths of those bands, or null when the scene describes none.</summary>
    public SpectralBands? Spectral { get; }
    /// <summary>Wavelengths (nm) of those bands, or null.</summary>
    public double[]? Wavelengths => Spectral?.Centres;
    /// <summary>The scene read.</summary>
    public HyperspectralScene Scene => scene;
    /// <summary>Stored value ÷ this = reflectance: the one given, the scene's own, or the guess (<see cref="GuessScale"/>).</summary>
    public double Scale => scale;

    /// <summary>Prepares to read <paramref name="scene"/> as <paramref name="options"/> say.</summary>
    public ReflectanceReader(HyperspectralScene scene, TilingOptions options)
    {
        this.scene = scene;
        kept = options.Bands.Choose(scene);
        Spectral = scene.Spectral?.Select(kept);
        if (options.ResampleTo is { } target)
        {
            if (Spectral is null) throw BandDescription.Missing(scene.Path);
            resampler = new SpectralResampler(Spectral.Centres, target, options.ResampleFwhm, Spectral.Fwhm, scene.Path);
            Spectral = new SpectralBands(target, options.ResampleFwhm, $"resampled from {Spectral.Source}");
        }
        Bands = resampler?.TargetBands ?? kept.Length;
        scale = options.ReflectanceScale ?? scene.Metadata.ReflectanceScale ?? GuessScale(scene);
    }

    /// <summary>
    /// The reflectance scale of a scene that does not state one: 10000 for integer data, and for floating-point
    /// data that holds integer-scaled reflectance (as many .mat benchmark scenes do) — values far above 1 in a
    /// sample of rows; otherwise 1.
    /// </summary>
    static double GuessScale(HyperspectralScene scene)
    {
        if (scene.DataType is not (RasterDataType.Float32 or RasterDataType.Float64)) return 10000;
        var row = new float[scene.Bands * scene.Samples];
        var values = new List<float>();
        for (int r = 0; r < scene.Lines; r += Math.Max(1, scene.Lines / 16))
        {
            scene.ReadWindow(r, 0, 1, scene.Samples, [], row);
            values.AddRange(row.Where(v => float.IsFinite(v) && !(scene.Metadata.NoDataValue is { } nd && v == nd)));
        }
        if (values.Count == 0) return 1;
        values.Sort();
        return values[(int)(0.99 * (values.Count - 1))] > 20 ? 10000 : 1;
    }

    /// <summary>
    /// Reads a window as reflectance [band][row][col] into <paramref name="destination"/> and marks invalid
    /// pixels in <paramref name="invalid"/> [row][col]; returns how many pixels are invalid.
    /// </summary>
    public int Read(int row, int col, int rows, int cols, Span<float> destination, Span<bool> invalid)
    {
        int pixels = rows * cols;
        if (buffer.Length < kept.Length * pixels) buffer = new float[kept.Length * pixels];
        var raw = buffer.AsSpan(0, kept.Length * pixels);
        scene.ReadWindow(row, col, rows, cols, kept, raw);
        double? noData = scene.Metadata.NoDataValue;
        invalid[..pixels].Clear();
        for (int b = 0; b < kept.Length; b++)
            for (int p = 0; p < pixels; p++)
            {
                float v = raw[b * pixels + p];
                if (!float.IsFinite(v) || (noData is { } nd && v == nd)) invalid[p] = true;
            }
        scene.ReadQualityMask(row, col, rows, cols, invalid);
        int count = 0;
        for (int p = 0; p < pixels; p++) if (invalid[p]) count++;
        for (int b = 0; b < kept.Length; b++)
            for (int p = 0; p < pixels; p++)
                raw[b * pixels + p] = invalid[p] ? 0f : (float)(raw[b * pixels + p] / scale);
        if (resampler is null) raw.CopyTo(destination);
        else resampler.Apply(raw, destination, pixels);
        return count;
    }
}
