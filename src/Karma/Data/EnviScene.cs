using System.Globalization;
using System.IO.Compression;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Karma.Data;

/// <summary>
/// An ENVI scene: header plus raw binary in BSQ, BIL or BIP, any byte order, with a header offset.
/// The binary is memory-mapped, so a window read touches only the bytes it needs; a gzip-compressed
/// binary (<c>file compression = 1</c>) is first inflated to a temporary file that is deleted on dispose.
/// The header is checked against the binary's length before anything is mapped. As each stored run is decoded,
/// the mapped pages it lay on are released (madvise DONTNEED; the kernel's page cache keeps them), so streaming a
/// scene larger than memory keeps the process's resident memory at the size of a window rather than of the file.
/// </summary>
public sealed class EnviScene : HyperspectralScene
{
    MemoryMappedFile? map;
    MemoryMappedViewAccessor? view;
    string? inflated;
    long headerOffset;
    bool bigEndian;
    unsafe byte* basePointer;
    long mappedBytes;

    EnviScene() { }

    /// <summary>Opens the scene given either its header or its binary.</summary>
    public static new EnviScene Open(string path)
    {
        var (hdrPath, binPath) = Locate(path);
        var h = EnviHeader.Read(hdrPath);
        int samples = h.Int("samples", required: true)!.Value, lines = h.Int("lines", required: true)!.Value, bands = h.Int("bands", required: true)!.Value;
        if (samples <= 0 || lines <= 0 || bands <= 0)
            throw new SceneFileException(hdrPath, $"declares {lines} lines × {samples} samples × {bands} bands; all must be positive.");
        int code = h.Int("data type", required: true)!.Value;
        var type = RasterDataTypes.FromEnviCode(code)
                   ?? throw new SceneFileException(hdrPath, $"has data type {code}, which Karma does not read (supported: 1, 2, 3, 4, 5, 12, 13, 14, 15).");
        string il = (h["interleave"] ?? "bsq").Trim().ToLowerInvariant();
        var interleave = il switch
        {
            "bsq" => Interleave.Bsq, "bil" => Interleave.Bil, "bip" => Interleave.Bip,
            _ => throw new SceneFileException(hdrPath, $"has interleave '{il}'; expected bsq, bil or bip."),
        };
        int byteOrder = h.Int("byte order") ?? 0;
        if (byteOrder is not (0 or 1)) throw new SceneFileException(hdrPath, $"has byte order {byteOrder}; expected 0 (little-endian) or 1 (big-endian).");
        int offset = h.Int("header offset") ?? 0;
        if (offset < 0) throw new SceneFileException(hdrPath, $"has a negative header offset ({offset}).");

        var scene = new EnviScene
        {
            Path = binPath, Lines = lines, Samples = samples, Bands = bands, DataType = type, Interleave = interleave,
            Metadata = ReadMetadata(h, bands), headerOffset = offset, bigEndian = byteOrder == 1,
        };
        try
        {
            scene.Map(binPath, (h.Int("file compression") ?? 0) == 1, (long)lines * samples * bands * type.Size() + offset);
        }
        catch
        {
            scene.Dispose();
            throw;
        }
        return scene;
    }

    static (string Header, string Binary) Locate(string path)
    {
        if (path.EndsWith(".hdr", StringComparison.OrdinalIgnoreCase))
        {
            string stem = path[..^4];
            foreach (var ext in new[] { "", ".img", ".bsq", ".bil", ".bip", ".dat", ".raw", ".sli" })
                if (File.Exists(stem + ext)) return (path, stem + ext);
            throw new SceneFileException(path, "has no binary beside it (looked for the same name without .hdr, and with .img, .bsq, .bil, .bip, .dat, .raw, .sli).");
        }
        foreach (var hdr in new[] { System.IO.Path.ChangeExtension(path, ".hdr"), path + ".hdr" })
            if (File.Exists(hdr)) return (hdr, path);
        throw new SceneFileException(path, "has no ENVI header beside it (expected the same name with .hdr).");
    }

    static SceneMetadata ReadMetadata(EnviHeader h, int bands)
    {
        // A spectral library lists one wavelength per sample, not per band: SpectralLibrary reads those.
        if ((h["file type"] ?? "").Contains("Spectral Library", StringComparison.OrdinalIgnoreCase))
            return new SceneMetadata { ReflectanceScale = h.Double("reflectance scale factor") };
        var wavelengths = h.Doubles("wavelength", bands);
        var fwhm = h.Doubles("fwhm", bands);
        string units = (h["wavelength units"] ?? "").Trim().ToLowerInvariant();
        double toNm = units switch
        {
            "micrometers" or "micrometres" or "um" or "µm" or "microns" => 1000,
            "nanometers" or "nanometres" or "nm" => 1,
            // No units: ENVI files in micrometres are common; values below 100 cannot be nanometres.
            _ => wavelengths is not null && wavelengths.Length > 0 && wavelengths.Max() < 100 ? 1000 : 1,
        };
        var bbl = h.Doubles("bbl", bands);
        return new SceneMetadata
        {
            Wavelengths = wavelengths?.Select(w => w * toNm).ToArray(),
            Fwhm = fwhm?.Select(w => w * toNm).ToArray(),
            GoodBands = bbl?.Select(v => v != 0).ToArray(),
            NoDataValue = h.Double("data ignore value"),
            ReflectanceScale = h.Double("reflectance scale factor"),
            BandNames = h.List("band names"),
            MapInfo = h["map info"],
            CoordinateSystem = h["coordinate system string"] ?? UtmCode(h["map info"]),
            GeoTransform = GeoTransformFromMapInfo(h["map info"]),
        };
    }

    /// <summary>GDAL geotransform from ENVI map info {proj, refX, refY, easting, northing, dx, dy, ...} (reference pixel 1-based).</summary>
    static double[]? GeoTransformFromMapInfo(string? mapInfo)
    {
        var parts = mapInfo?.Split(',').Select(s => s.Trim()).ToArray();
        if (parts is null || parts.Length < 7) return null;
        var n = new double[6];
        for (int i = 1; i < 7; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out n[i - 1])) return null;
        double refX = n[0], refY = n[1], east = n[2], north = n[3], dx = n[4], dy = n[5];
        return [east - (refX - 1) * dx, dx, 0, north + (refY - 1) * dy, 0, -dy];
    }

    /// <summary>"EPSG:326zz" / "EPSG:327zz" for a WGS 84 UTM map info {UTM, …, zone, North|South, WGS-84, …}, else null.</summary>
    static string? UtmCode(string? mapInfo)
    {
        var parts = mapInfo?.Split(',').Select(s => s.Trim()).ToArray();
        if (parts is null || parts.Length < 10 || !parts[0].Equals("UTM", StringComparison.OrdinalIgnoreCase)
            || !parts[9].Equals("WGS-84", StringComparison.OrdinalIgnoreCase)
            || !int.TryParse(parts[7], NumberStyles.Integer, CultureInfo.InvariantCulture, out int zone) || zone is < 1 or > 60) return null;
        return parts[8].Equals("North", StringComparison.OrdinalIgnoreCase) ? $"EPSG:{32600 + zone}"
             : parts[8].Equals("South", StringComparison.OrdinalIgnoreCase) ? $"EPSG:{32700 + zone}" : null;
    }

    void Map(string binPath, bool gzip, long needed)
    {
        string source = binPath;
        if (gzip)
        {
            inflated = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"karma-{Guid.NewGuid():N}.raw");
            try
            {
                using var input = File.OpenRead(binPath);
                using var gz = new GZipStream(input, CompressionMode.Decompress);
                using var output = File.Create(inflated);
                gz.CopyTo(output);
            }
            catch (InvalidDataException e) { throw new SceneFileException(binPath, $"is marked 'file compression = 1' but is not valid gzip: {e.Message}", e); }
            source = inflated;
        }
        long length = new FileInfo(source).Length;
        if (length < needed)
            throw new SceneFileException(binPath,
                $"holds {length} bytes{(gzip ? " after decompression" : "")} but the header describes {Lines}×{Samples}×{Bands} {DataType.Name()} values " +
                $"after a {headerOffset}-byte offset ({needed} bytes): the file is truncated or the header is wrong.");
        map = MemoryMappedFile.CreateFromFile(source, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        view = map.CreateViewAccessor(0, needed, MemoryMappedFileAccess.Read);
        mappedBytes = needed;
        unsafe
        {
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
            basePointer += view.PointerOffset;
        }
    }

    long Index(int band, int row, int col) => Interleave switch
    {
        Interleave.Bsq => ((long)band * Lines + row) * Samples + col,
        Interleave.Bil => ((long)row * Bands + band) * Samples + col,
        _ => ((long)row * Samples + col) * Bands + band,
    };

    /// <summary>The stored bytes of <paramref name="count"/> samples starting at sample <paramref name="index"/>.</summary>
    unsafe ReadOnlySpan<byte> Stored(long index, int count) =>
        new(basePointer + headerOffset + index * DataType.Size(), count * DataType.Size());

    /// <inheritdoc/>
    protected override void ReadWindowCore(int row, int col, int rows, int cols, ReadOnlySpan<int> bands, Span<float> destination)
    {
        // Each stored run is released as soon as it is decoded: the page cache maps files in large folios (2 MB on
        // ext4 here), so holding a whole window of a 218-band BSQ scene mapped would mean 218 folios at once.
        switch (Interleave)
        {
            case Interleave.Bsq:
                for (int i = 0; i < bands.Length; i++)
                {
                    for (int r = 0; r < rows; r++)
                        DataType.DecodeRun(Stored(Index(bands[i], row + r, col), cols), destination.Slice((i * rows + r) * cols, cols), bigEndian);
                    Release(Index(bands[i], row, col), Index(bands[i], row + rows - 1, col + cols));
                }
                break;
            case Interleave.Bil:
                for (int r = 0; r < rows; r++)
                {
                    for (int i = 0; i < bands.Length; i++)
                        DataType.DecodeRun(Stored(Index(bands[i], row + r, col), cols), destination.Slice((i * rows + r) * cols, cols), bigEndian);
                    Release(Index(0, row + r, 0), Index(0, row + r + 1, 0));
                }
                break;
            default:
                // Pixels are contiguous: decode each row's run of spectra at once, then scatter the wanted bands.
                var spectra = new float[cols * Bands];
                for (int r = 0; r < rows; r++)
                {
                    DataType.DecodeRun(Stored(Index(0, row + r, col), cols * Bands), spectra, bigEndian);
                    for (int i = 0; i < bands.Length; i++)
                    {
                        var dst = destination.Slice((i * rows + r) * cols, cols);
                        for (int c = 0, at = bands[i]; c < cols; c++, at += Bands) dst[c] = spectra[at];
                    }
                    Release(Index(0, row + r, col), Index(0, row + r, col + cols));
                }
                break;
        }
    }

    /// <summary>
    /// Drops the mapping of the pages around samples [<paramref name="from"/>, <paramref name="to"/>), widened to whole
    /// 2 MiB blocks of the file: a fault maps the whole large folio it lands in, so releasing only the touched pages
    /// would leave the rest of each folio mapped and resident memory would still grow to the file's size. The pages stay
    /// in the page cache, so a later read finds them without disk access; they only stop counting as this process's.
    /// </summary>
    unsafe void Release(long from, long to)
    {
        if (!OperatingSystem.IsLinux() || madviseMissing) return;
        const long block = 2 << 20;
        long start = (headerOffset + from * DataType.Size()) / block * block;
        long end = Math.Min((headerOffset + to * DataType.Size() + block - 1) / block * block, mappedBytes);
        if (end <= start) return;
        try { _ = madvise(basePointer + start, (nuint)(end - start), MadviseDontNeed); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { madviseMissing = true; }   // not glibc: reads still work
    }

    static bool madviseMissing;

    const int MadviseDontNeed = 4;

    [DllImport("libc.so.6", SetLastError = true)]
    static extern unsafe int madvise(void* address, nuint length, int advice);

    /// <inheritdoc/>
    protected override double[] ReadPixelCore(int row, int col)
    {
        var result = new double[Bands];
        for (int b = 0; b < Bands; b++) result[b] = DataType.Decode(Stored(Index(b, row, col), 1), bigEndian);
        return result;
    }

    /// <inheritdoc/>
    public override unsafe void Dispose()
    {
        if (basePointer != null) view!.SafeMemoryMappedViewHandle.ReleasePointer();
        basePointer = null;
        view?.Dispose();
        map?.Dispose();
        view = null;
        map = null;
        if (inflated is not null && File.Exists(inflated)) File.Delete(inflated);
        inflated = null;
    }
}
