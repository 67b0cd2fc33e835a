namespace Karma.Data;

/// <summary>
/// Everything about a scene except its pixels: band wavelengths and widths (nm), which bands are bad,
/// the no-data value, the factor that turns stored values into reflectance, and georeferencing kept as
/// the source wrote it so writers can carry it through unchanged.
/// </summary>
public sealed record SceneMetadata
{
    /// <summary>Band centre wavelengths in nanometres, or null when the file has none.</summary>
    public double[]? Wavelengths { get; init; }
    /// <summary>Band full widths at half maximum in nanometres, or null.</summary>
    public double[]? Fwhm { get; init; }
    /// <summary>Where <see cref="Wavelengths"/> came from when not from the file itself (a sensor table, a user's option); null for the file.</summary>
    public string? BandSource { get; init; }
    /// <summary>Per band: true if usable (ENVI <c>bbl</c> = 1), or null when every band is usable.</summary>
    public bool[]? GoodBands { get; init; }
    /// <summary>Stored value that marks missing pixels, or null.</summary>
    public double? NoDataValue { get; init; }
    /// <summary>Stored value ÷ this = reflectance (ENVI <c>reflectance scale factor</c>, e.g. 10000), or null if unknown.</summary>
    public double? ReflectanceScale { get; init; }
    /// <summary>Band names, or null.</summary>
    public string[]? BandNames { get; init; }
    /// <summary>ENVI <c>map info</c> value, verbatim, or null.</summary>
    public string? MapInfo { get; init; }
    /// <summary>Coordinate reference system as WKT (ENVI's coordinate system string) or <c>EPSG:code</c> (GeoTIFF keys, ENVI UTM map info), or null.</summary>
    public string? CoordinateSystem { get; init; }
    /// <summary>GDAL-style affine geotransform (x0, dx, rx, y0, ry, dy), or null.</summary>
    public double[]? GeoTransform { get; init; }
}
