using BitMiracle.LibTiff.Classic;

namespace Karma.Data;

/// <summary>
/// Routes LibTiff's messages away from the console: warnings (unknown GeoTIFF/GDAL tags are normal) are
/// dropped, and the last error is kept so a failure can be reported in a <see cref="KarmaException"/>.
/// </summary>
static class TiffErrors
{
    [ThreadStatic] static string? last;

    /// <summary>The last error LibTiff reported on this thread, or null.</summary>
    public static string? Last => last;

    /// <summary>Records an error LibTiff raised as an exception rather than through its handler.</summary>
    public static void Note(string message) => last = message;

    sealed class Handler : TiffErrorHandler
    {
        public override void WarningHandler(Tiff tif, string method, string format, params object[] args) { }
        public override void WarningHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args) { }
        public override void ErrorHandler(Tiff tif, string method, string format, params object[] args) => last = Format(format, args);
        public override void ErrorHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args) => last = Format(format, args);

        static string Format(string format, object[] args)
        {
            try { return string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args); }
            catch (FormatException) { return format; }
        }
    }

    static TiffErrors() => Tiff.SetErrorHandler(new Handler());

    /// <summary>Opens <paramref name="path"/> for reading, or throws naming the file and LibTiff's reason.</summary>
    public static Tiff Open(string path)
    {
        if (!File.Exists(path)) throw new SceneFileException(path, "does not exist.");
        CheckFirstDirectory(path);
        last = null;
        Tiff? tiff;
        try { tiff = Tiff.Open(path, "r"); }
        catch (Exception e) when (e is not KarmaException and not OutOfMemoryException)
        {
            // LibTiff.NET throws plain .NET exceptions on some damaged directories.
            throw new SceneFileException(path, $"is not a readable TIFF ({e.Message}): the file is truncated or damaged.", e);
        }
        return tiff ?? throw new SceneFileException(path, $"is not a readable TIFF ({last ?? "unknown error"}).");
    }

    /// <summary>Opens <paramref name="path"/> for writing, or throws naming the file.</summary>
    public static Tiff Create(string path)
    {
        last = null;
        return Tiff.Open(path, "w")
               ?? throw new SceneFileException(path, $"could not be created as a TIFF ({last ?? "unknown error"}).");
    }

    /// <summary>
    /// Checks that every entry of the first image directory fits inside the file before LibTiff reads it:
    /// LibTiff.NET trusts tag counts and would try to allocate gigabytes for a damaged one.
    /// </summary>
    static void CheckFirstDirectory(string path)
    {
        using var file = File.OpenRead(path);
        long length = file.Length;
        Span<byte> head = stackalloc byte[16];
        if (file.ReadAtLeast(head, 16, throwOnEndOfStream: false) < 8) throw new SceneFileException(path, "is too short to be a TIFF.");
        bool little = head[0] == 'I' && head[1] == 'I';
        if (!little && !(head[0] == 'M' && head[1] == 'M')) throw new SceneFileException(path, "is not a TIFF (no II/MM byte-order mark).");
        ulong U(ReadOnlySpan<byte> b, int bytes) => bytes switch
        {
            2 => little ? System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(b) : System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(b),
            4 => little ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b) : System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b),
            _ => little ? System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b) : System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(b),
        };
        ulong version = U(head[2..], 2);
        bool big = version == 43;
        if (version != 42 && !big) throw new SceneFileException(path, $"is not a TIFF (version {version}).");
        ulong offset = big ? U(head[8..], 8) : U(head[4..], 4);
        int countBytes = big ? 8 : 2, entryBytes = big ? 20 : 12, inline = big ? 8 : 4;
        if (offset + (ulong)countBytes > (ulong)length) throw new SceneFileException(path, "points to an image directory past its end: the file is truncated.");
        var countBuffer = new byte[countBytes];
        file.Position = (long)offset;
        file.ReadExactly(countBuffer);
        ulong entries = U(countBuffer, countBytes);
        if (offset + (ulong)countBytes + entries * (ulong)entryBytes > (ulong)length)
            throw new SceneFileException(path, $"declares {entries} tags that do not fit in the file: it is truncated or damaged.");
        var entry = new byte[entryBytes];
        for (ulong i = 0; i < entries; i++)
        {
            file.ReadExactly(entry);
            ulong type = U(entry.AsSpan(2), 2), count = big ? U(entry.AsSpan(4), 8) : U(entry.AsSpan(4), 4);
            ulong size = type switch { 1 or 2 or 6 or 7 => 1UL, 3 or 8 => 2UL, 4 or 9 or 11 or 13 => 4UL, 5 or 10 or 12 or 16 or 17 or 18 => 8UL, _ => 0UL };
            if (size == 0) continue; // unknown types are skipped by LibTiff
            if (count > (ulong)length / size)
                throw new SceneFileException(path, $"has tag {U(entry, 2)} claiming {count} values, more than the file holds: it is damaged.");
            ulong bytes = count * size;
            if (bytes > (ulong)inline)
            {
                ulong at = big ? U(entry.AsSpan(12), 8) : U(entry.AsSpan(8), 4);
                if (at + bytes > (ulong)length)
                    throw new SceneFileException(path, $"has tag {U(entry, 2)} whose {bytes} bytes lie past the end of the file: it is truncated or damaged.");
            }
        }
    }
}
