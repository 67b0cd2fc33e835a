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
        if (Metadata.MapInfo is { } mi) yield return ("map info", "{" + mi + "}");
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
}
