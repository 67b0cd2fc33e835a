using System.Globalization;
using System.Runtime.InteropServices;

namespace Karma.Data;

/// <summary>
/// Writes an ENVI BSQ float32 scene window by window, so outputs larger than memory can be streamed.
/// Pixels go to a temporary file beside the target; <see cref="Commit"/> writes the header and renames
/// both into place. Disposing without committing deletes the temporary file and leaves any existing
/// output untouched, so an interrupted write never corrupts a previous result.
/// </summary>
public sealed class EnviWriter : IDisposable
{
    readonly string binaryPath, tempPath;
    readonly FileStream stream;
    readonly SceneMetadata metadata;
    bool committed;

    /// <summary>Rows, columns and bands of the output.</summary>
    public int Lines { get; }
    /// <inheritdoc cref="Lines"/>
    public int Samples { get; }
    /// <inheritdoc cref="Lines"/>
    public int Bands { get; }

    /// <summary>Starts a scene at <paramref name="path"/> (the binary; the header is path with .hdr).</summary>
    public EnviWriter(string path, int lines, int samples, int bands, SceneMetadata? metadata = null)
    {
        if (lines <= 0 || samples <= 0 || bands <= 0) throw new ArgumentException("dimensions must be positive");
        if (path.EndsWith(".hdr", StringComparison.OrdinalIgnoreCase)) path = Path.ChangeExtension(path, ".img");
        binaryPath = Path.GetFullPath(path);
        tempPath = binaryPath + $".tmp-{Environment.ProcessId}";
        (Lines, Samples, Bands) = (lines, samples, bands);
        this.metadata = metadata ?? new SceneMetadata();
        Directory.CreateDirectory(Path.GetDirectoryName(binaryPath)!);
        stream = new FileStream(tempPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        stream.SetLength((long)lines * samples * bands * sizeof(float));
    }

    /// <summary>The header path written by <see cref="Commit"/>.</summary>
    public string HeaderPath => Path.ChangeExtension(binaryPath, ".hdr");

    /// <summary>Writes a window laid out [band][row][col] for all bands at (<paramref name="row"/>, <paramref name="col"/>).</summary>
    public void WriteWindow(int row, int col, int rows, int cols, ReadOnlySpan<float> bsq)
    {
        if (row < 0 || col < 0 || row + rows > Lines || col + cols > Samples || bsq.Length < (long)Bands * rows * cols)
            throw new ArgumentException($"window ({row}, {col}) {rows}×{cols} does not fit the {Lines}×{Samples}×{Bands} output");
        for (int b = 0; b < Bands; b++)
            for (int r = 0; r < rows; r++)
            {
                stream.Position = (((long)b * Lines + row + r) * Samples + col) * sizeof(float);
                stream.Write(MemoryMarshal.AsBytes(bsq.Slice((b * rows + r) * cols, cols)));
            }
    }

    /// <summary>Flushes pixels, writes the header and moves both into place (binary first, header last).</summary>
    public void Commit()
    {
        stream.Flush(flushToDisk: true);
        stream.Dispose();
        File.Move(tempPath, binaryPath, overwrite: true);
        AtomicFiles.WriteText(HeaderPath, EnviHeader.Format(HeaderFields()));
        committed = true;
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
        if (metadata.MapInfo is { } mi) yield return ("map info", "{" + mi + "}");
        if (metadata.CoordinateSystem is { } cs) yield return ("coordinate system string", "{" + cs + "}");
        if (metadata.Wavelengths is { Length: > 0 } wl && wl.Length == Bands)
        {
            yield return ("wavelength units", "Nanometers");
            yield return ("wavelength", List(wl));
        }
        if (metadata.Fwhm is { } fw && fw.Length == Bands) yield return ("fwhm", List(fw));
        if (metadata.GoodBands is { } gb && gb.Length == Bands) yield return ("bbl", List(gb.Select(g => g ? 1.0 : 0.0)));
        if (metadata.NoDataValue is { } nd) yield return ("data ignore value", nd.ToString("R", CultureInfo.InvariantCulture));
        if (metadata.ReflectanceScale is { } rs) yield return ("reflectance scale factor", rs.ToString("R", CultureInfo.InvariantCulture));
        if (metadata.BandNames is { } bn && bn.Length == Bands) yield return ("band names", "{" + string.Join(", ", bn) + "}");
    }

    /// <summary>Writes a whole BSQ cube in one call.</summary>
    public static void Write(string path, int lines, int samples, int bands, ReadOnlySpan<float> bsq, SceneMetadata? metadata = null)
    {
        using var writer = new EnviWriter(path, lines, samples, bands, metadata);
        writer.WriteWindow(0, 0, lines, samples, bsq);
        writer.Commit();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        stream.Dispose();
        if (!committed && File.Exists(tempPath)) File.Delete(tempPath);
    }
}
