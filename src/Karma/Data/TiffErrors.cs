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
        if (!File.Exists(path)) throw new KarmaException(path, "does not exist.");
        last = null;
        return Tiff.Open(path, "r")
               ?? throw new KarmaException(path, $"is not a readable TIFF ({last ?? "unknown error"}).");
    }

    /// <summary>Opens <paramref name="path"/> for writing, or throws naming the file.</summary>
    public static Tiff Create(string path)
    {
        last = null;
        return Tiff.Open(path, "w")
               ?? throw new KarmaException(path, $"could not be created as a TIFF ({last ?? "unknown error"}).");
    }
}
