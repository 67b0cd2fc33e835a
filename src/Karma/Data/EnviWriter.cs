using System.Globalization;

namespace Karma.Data;

/// <summary>
/// Writes an ENVI BSQ float32 scene (binary plus <c>.hdr</c>). The binary is renamed into place first and
/// the header last, so a reader never finds a header describing pixels that are not all there.
/// </summary>
public sealed class EnviWriter : SceneWriter
{
    /// <summary>Starts a scene at <paramref name="path"/> (the binary; the header is path with .hdr).</summary>
    public EnviWriter(string path, int lines, int samples, int bands, SceneMetadata? metadata = null)
        : base(path.EndsWith(".hdr", StringComparison.OrdinalIgnoreCase) ? Path.ChangeExtension(path, ".img") : path, lines, samples, bands, metadata) { }

    /// <summary>The header path written by <see cref="SceneWriter.Commit"/>.</summary>
    public string HeaderPath => Path.ChangeExtension(OutputPath, ".hdr");

    /// <inheritdoc/>
    protected override void CommitCore()
    {
        Pixels.Dispose();
        File.Move(PixelsPath, OutputPath, overwrite: true);
        AtomicFiles.WriteText(HeaderPath, EnviHeader.Format(HeaderFields()));
    }

    IEnumerable<(string, string)> HeaderFields()
    {
        static string List(IEnumerable<double> v) => "{" + string.Join(", ", v.Select(x => x.ToString("R", CultureInfo.InvariantCulture))) + "}";
        yield return ("description", "{written by Karma}");
        yield return ("samples", Samples.ToString(CultureInfo.InvariantCulture));
        yield return ("lines", Lines.ToString(CultureInfo.InvariantCulture));
        yield return ("bands", Bands.ToString(CultureInfo.InvariantCulture));
        yield return ("header offset", "0");
        yield return ("file type", "ENVI Standard");
        yield return ("data type", "4");
        yield return ("interleave", "bsq");
        yield return ("byte order", BitConverter.IsLittleEndian ? "0" : "1");
        if ((Metadata.MapInfo ?? MapInfoFrom(Metadata.GeoTransform, Metadata.CoordinateSystem)) is { } mi) yield return ("map info", "{" + mi + "}");
        if (Metadata.CoordinateSystem is { } cs) yield return ("coordinate system string", "{" + cs + "}");
        if (Metadata.Wavelengths is { Length: > 0 } wl && wl.Length == Bands)
        {
            yield return ("wavelength units", "Nanometers");
            yield return ("wavelength", List(wl));
        }
        if (Metadata.Fwhm is { } fw && fw.Length == Bands) yield return ("fwhm", List(fw));
        if (Metadata.GoodBands is { } gb && gb.Length == Bands) yield return ("bbl", List(gb.Select(g => g ? 1.0 : 0.0)));
        if (Metadata.NoDataValue is { } nd) yield return ("data ignore value", nd.ToString("R", CultureInfo.InvariantCulture));
        if (Metadata.ReflectanceScale is { } rs) yield return ("reflectance scale factor", rs.ToString("R", CultureInfo.InvariantCulture));
        if (Metadata.BandNames is { } bn && bn.Length == Bands) yield return ("band names", "{" + string.Join(", ", bn) + "}");
    }

    /// <summary>
    /// ENVI map info for a geotransform read from another format (reference pixel 1,1 = the upper-left corner), naming the
    /// UTM zone when the CRS is a WGS 84 UTM code, as GDAL's ENVI driver does; null without a geotransform.
    /// </summary>
    string? MapInfoFrom(double[]? gt, string? crs)
    {
        if (gt is null) return null;
        if (gt[2] != 0 || gt[4] != 0)
            throw new KarmaException(OutputPath, "has a rotated geotransform, which the ENVI writer does not support.");
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        string corner = $"1, 1, {F(gt[0])}, {F(gt[3])}, {F(gt[1])}, {F(-gt[5])}";
        int epsg = crs is not null && crs.StartsWith("EPSG:", StringComparison.OrdinalIgnoreCase)
                   && int.TryParse(crs[5..], NumberStyles.Integer, CultureInfo.InvariantCulture, out int code) ? code : 0;
        return epsg switch
        {
            >= 32601 and <= 32660 => $"UTM, {corner}, {epsg - 32600}, North, WGS-84, units=Meters",
            >= 32701 and <= 32760 => $"UTM, {corner}, {epsg - 32700}, South, WGS-84, units=Meters",
            _ => $"Arbitrary, {corner}",
        };
    }
}
