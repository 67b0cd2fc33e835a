namespace Karma.Data;

/// <summary>
/// How scenes become tiles: tile size and stride, how much no-data a tile may hold, which bands are kept,
/// an optional resampling to another band set, and how stored values become reflectance. Stored with a
/// trained model so evaluation and inference tile new scenes exactly as training did.
/// </summary>
public sealed record TilingOptions
{
    /// <summary>Tile side in pixels.</summary>
    public int TileSize { get; init; } = 32;
    /// <summary>Step between tile origins; defaults to half a tile.</summary>
    public int? Stride { get; init; }
    /// <summary>Tiles with a larger fraction of no-data or non-finite pixels are skipped.</summary>
    public double MaxNoDataFraction { get; init; } = 0.1;
    /// <summary>Which bands are kept.</summary>
    public BandSelection Bands { get; init; } = new();
    /// <summary>Resample the kept bands to these wavelengths (nm), e.g. a model's bands; null keeps them.</summary>
    public double[]? ResampleTo { get; init; }
    /// <summary>FWHM (nm) of <see cref="ResampleTo"/> for Gaussian responses; null interpolates linearly.</summary>
    public double[]? ResampleFwhm { get; init; }
    /// <summary>Stored value ÷ this = reflectance; null uses the scene's own factor, or 10000 for integer data without one.</summary>
    public double? ReflectanceScale { get; init; }

    /// <summary>
    /// Most memory the tiles of one scene may take, in MiB (default 2048). A scene with more tile positions than
    /// fit keeps an evenly spread, seeded subset of them, chosen before any pixel is read, so even a scene far
    /// larger than memory is tiled with bounded memory and reading time.
    /// </summary>
    public int MemoryBudgetMiB { get; init; } = 2048;

    /// <summary>The effective stride.</summary>
    public int EffectiveStride => Stride ?? Math.Max(1, TileSize / 2);
}
