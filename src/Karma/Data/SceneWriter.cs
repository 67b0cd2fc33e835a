using System.Runtime.InteropServices;

namespace Karma.Data;

/// <summary>
/// Writes a float32 scene window by window, so outputs larger than memory can be streamed. Pixels go to a
/// temporary band-sequential file beside the target; <see cref="Commit"/> turns it into the final format and
/// renames it into place. Disposing without committing deletes the temporary file and leaves any existing
/// output untouched, so an interrupted write never corrupts a previous result.
/// </summary>
public abstract class SceneWriter : IDisposable
{
    /// <summary>Temporary BSQ float32 pixels, in native byte order.</summary>
    protected readonly FileStream Pixels;
    /// <summary>The temporary file behind <see cref="Pixels"/>.</summary>
    protected readonly string PixelsPath;
    /// <summary>Wavelengths, no-data and georeferencing carried into the output.</summary>
    protected readonly SceneMetadata Metadata;
    bool committed;

    /// <summary>Rows, columns and bands of the output.</summary>
    public int Lines { get; }
    /// <inheritdoc cref="Lines"/>
    public int Samples { get; }
    /// <inheritdoc cref="Lines"/>
    public int Bands { get; }
    /// <summary>The file the output will have once committed.</summary>
    public string OutputPath { get; }

    /// <summary>Starts an output of the given size at <paramref name="outputPath"/>.</summary>
    protected SceneWriter(string outputPath, int lines, int samples, int bands, SceneMetadata? metadata)
    {
        if (lines <= 0 || samples <= 0 || bands <= 0) throw new ArgumentException("dimensions must be positive");
        OutputPath = Path.GetFullPath(outputPath);
        PixelsPath = OutputPath + $".tmp-{Environment.ProcessId}";
        (Lines, Samples, Bands) = (lines, samples, bands);
        Metadata = metadata ?? new SceneMetadata();
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(OutputPath)!);
            Pixels = new FileStream(PixelsPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
            Pixels.SetLength((long)lines * samples * bands * sizeof(float));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Pixels?.Dispose();
            if (File.Exists(PixelsPath)) File.Delete(PixelsPath);
            throw Refused(e);
        }
    }

    /// <summary>A write the file system refused (disk full, permissions), as one line naming the output; the caller's dispose removes the temporary file.</summary>
    SceneFileException Refused(Exception e) =>
        new(OutputPath, $"could not be written ({KarmaException.Quote(e.Message)}); any earlier output of that name is unchanged. Free space or choose another place.", e);

    /// <summary>A writer for <paramref name="path"/>: GeoTIFF for <c>.tif</c>/<c>.tiff</c>, ENVI otherwise.</summary>
    public static SceneWriter Create(string path, int lines, int samples, int bands, SceneMetadata? metadata = null) =>
        path.EndsWith(".tif", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".tiff", StringComparison.OrdinalIgnoreCase)
            ? new GeoTiffWriter(path, lines, samples, bands, metadata)
            : new EnviWriter(path, lines, samples, bands, metadata);

    /// <summary>Writes a whole BSQ cube [band][row][col] to <paramref name="path"/> in one call.</summary>
    public static void Write(string path, int lines, int samples, int bands, ReadOnlySpan<float> bsq, SceneMetadata? metadata = null)
    {
        using var writer = Create(path, lines, samples, bands, metadata);
        writer.WriteWindow(0, 0, lines, samples, bsq);
        writer.Commit();
    }

    /// <summary>Writes a window laid out [band][row][col] for all bands at (<paramref name="row"/>, <paramref name="col"/>).</summary>
    public void WriteWindow(int row, int col, int rows, int cols, ReadOnlySpan<float> bsq)
    {
        if (row < 0 || col < 0 || row + rows > Lines || col + cols > Samples || bsq.Length < (long)Bands * rows * cols)
            throw new ArgumentException($"window ({row}, {col}) {rows}×{cols} does not fit the {Lines}×{Samples}×{Bands} output");
        try
        {
            for (int b = 0; b < Bands; b++)
                for (int r = 0; r < rows; r++)
                {
                    Pixels.Position = (((long)b * Lines + row + r) * Samples + col) * sizeof(float);
                    Pixels.Write(MemoryMarshal.AsBytes(bsq.Slice((b * rows + r) * cols, cols)));
                }
        }
        catch (IOException e) { throw Refused(e); }
    }

    /// <summary>Finishes the output and moves it into place.</summary>
    public void Commit()
    {
        try
        {
            Pixels.Flush(flushToDisk: true);
            CommitCore();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw Refused(e); }
        catch (KarmaException e) when (e.InnerException is IOException io) { throw Refused(io); }
        committed = true;
    }

    /// <summary>Format-specific finish: turn <see cref="Pixels"/> into the output file(s), atomically.</summary>
    protected abstract void CommitCore();

    /// <inheritdoc/>
    public void Dispose()
    {
        // Closing flushes buffered pixels: on a full disk that fails again, and the output is abandoned anyway.
        try { Pixels.Dispose(); }
        catch (IOException) when (!committed) { }
        if (!committed && File.Exists(PixelsPath)) File.Delete(PixelsPath);
        GC.SuppressFinalize(this);
    }
}
