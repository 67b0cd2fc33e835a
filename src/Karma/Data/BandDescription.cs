using System.Globalization;

namespace Karma.Data;

/// <summary>
/// Band descriptions given by the user for scenes whose files carry none (or a wrong one), written after the scene
/// as <c>SCENE@SPEC</c> or given once for every scene by <c>--wavelengths SPEC</c> / <c>--sensor NAME</c>:
/// <list type="bullet">
/// <item><c>START:END[:FWHM]</c> — centres spread evenly from START to END nm over the scene's bands, widths FWHM nm
///   (default: the spacing);</item>
/// <item><c>FILE</c> — one centre per line, optionally a FWHM in a second column (comma, tab or space separated;
///   <c>#</c> starts a comment; values below 30 are read as micrometres);</item>
/// <item><c>SENSOR</c> or <c>SENSOR[1-107,113-153]</c> — a built-in table (<see cref="SensorTables"/>), matched to the
///   scene's band count or to the 1-based bands it kept.</item>
/// </list>
/// What was assumed is kept in <see cref="SpectralBands.Source"/> and shown by <c>karma info</c>.
/// </summary>
public static class BandDescription
{
    /// <summary>
    /// Splits <c>scene@spec</c> into the scene and its band description. The split is made only when what follows the
    /// last <c>@</c> reads as a description (a sensor name, a range, or an existing file), so paths containing <c>@</c> still open.
    /// </summary>
    public static (string Scene, string? Spec) Split(string path)
    {
        int at = path.LastIndexOf('@');
        if (at <= 0 || at == path.Length - 1) return (path, null);
        string spec = path[(at + 1)..];
        return LooksLikeSpec(spec) ? (path[..at], spec) : (path, null);
    }

    /// <summary><paramref name="scene"/> with <paramref name="spec"/> attached, as <see cref="Split"/> reads it back.</summary>
    public static string Attach(string scene, string spec) => $"{scene}@{spec}";

    /// <summary>
    /// <paramref name="path"/> with the scene and, when its description is a file, that file made absolute: what a run
    /// records so it can be resumed from anywhere.
    /// </summary>
    public static string Absolute(string path)
    {
        var (scene, spec) = Split(path);
        string absolute = System.IO.Path.GetFullPath(scene);
        return spec is null ? absolute : Attach(absolute, File.Exists(spec) ? System.IO.Path.GetFullPath(spec) : spec);
    }

    static bool LooksLikeSpec(string spec) =>
        SensorTables.Find(SensorName(spec)) is not null || TryRange(spec, out _, out _, out _) || File.Exists(spec);

    static string SensorName(string spec) => spec.Split('[')[0];

    /// <summary>The bands <paramref name="spec"/> describes for a scene of <paramref name="count"/> bands; errors name <paramref name="scenePath"/>.</summary>
    public static SpectralBands Parse(string spec, int count, string scenePath)
    {
        if (TryRange(spec, out double start, out double end, out double? fwhm))
        {
            if (count < 2 && start != end) throw new BandMismatchException(scenePath, $"has {count} band; a range {spec} needs at least two.");
            var centres = Enumerable.Range(0, count).Select(i => count == 1 ? start : start + (end - start) * i / (count - 1)).ToArray();
            return new SpectralBands(centres, fwhm is { } w ? Enumerable.Repeat(w, count).ToArray() : null, $"range {spec} (evenly spaced)");
        }
        string name = SensorName(spec);
        if (SensorTables.Find(name) is { } table)
        {
            string? indices = spec.Length > name.Length ? spec[(name.Length + 1)..].TrimEnd(']') : null;
            if (indices is not null && !spec.EndsWith(']'))
                throw new BandMismatchException(scenePath, $"'{spec}' should read {name}[FIRST-LAST,...] with 1-based band indices.");
            return SensorTables.For(table, count, indices, scenePath);
        }
        if (File.Exists(spec)) return ReadFile(spec, count, scenePath);
        throw new BandMismatchException(scenePath, $"band description '{spec}' is neither START:END[:FWHM], an existing file, nor a sensor ({Sensors}).");
    }

    /// <summary>The names of the built-in sensor tables, for messages.</summary>
    public static string Sensors => string.Join(", ", SensorTables.All.Select(t => t.Name));

    /// <summary>What to tell a user whose scene has no wavelengths where a model or option needs them.</summary>
    public static string MissingMessage =>
        "has no band wavelengths. Describe its bands with a wavelength file (one centre in nm per line, optional FWHM column), " +
        $"an evenly spaced range START:END[:FWHM], or a sensor table ({Sensors}); or append @SPEC (any of these) to this scene's path.";

    /// <summary>The error for <paramref name="path"/>, a scene without the wavelengths something needs.</summary>
    public static BandMismatchException Missing(string path) => new(path, MissingMessage) { Settings = ["Wavelengths", "Sensor"] };

    /// <summary>
    /// A band set to resample onto: a sensor table (all its bands) or a wavelength file; errors name <paramref name="context"/>.
    /// </summary>
    public static SpectralBands Target(string spec, string context) =>
        SensorTables.Find(spec) is { } table ? table.Bands
        : File.Exists(spec) ? ReadFile(spec, null, context)
        : throw new BandMismatchException(context, $"target bands '{spec}' are neither a sensor ({Sensors}) nor an existing wavelength file.");

    /// <summary>Reads a wavelength file: a centre per line, optional FWHM after it; <paramref name="count"/>, when given, must match.</summary>
    public static SpectralBands ReadFile(string file, int? count, string scenePath)
    {
        var centres = new List<double>();
        var widths = new List<double>();
        int lineNumber = 0;
        foreach (var raw in File.ReadLines(file))
        {
            lineNumber++;
            string line = raw.Split('#')[0].Trim();
            if (line.Length == 0) continue;
            var cells = line.Split([',', ';', '\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            var numbers = cells.Select(c => double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN).ToArray();
            if (numbers.Any(double.IsNaN))
            {
                if (centres.Count == 0) continue; // a header row
                throw new SceneFileException(file, $"line {lineNumber} holds '{line}', which is not a wavelength (and optional FWHM).");
            }
            centres.Add(numbers[0]);
            if (numbers.Length > 1) widths.Add(numbers[1]);
        }
        if (count is { } n && centres.Count != n)
            throw new SceneFileException(file, $"lists {centres.Count} wavelengths but {scenePath} has {n} bands.");
        if (centres.Count == 0) throw new SceneFileException(file, "lists no wavelengths.");
        if (widths.Count != 0 && widths.Count != centres.Count)
            throw new SceneFileException(file, $"gives a FWHM on {widths.Count} of {centres.Count} lines; give one on every line or none.");
        bool micrometres = centres.Max() < 30;
        double factor = micrometres ? 1000 : 1;
        try
        {
            return new SpectralBands(centres.Select(c => c * factor).ToArray(), widths.Count > 0 ? widths.Select(w => w * factor).ToArray() : null,
                                     $"wavelength file {file}" + (micrometres ? " (read as µm)" : ""));
        }
        catch (KarmaException e) when (e.Path is null) { throw new BandMismatchException(file, e.Message); }
    }

    static bool TryRange(string spec, out double start, out double end, out double? fwhm)
    {
        start = end = 0;
        fwhm = null;
        var parts = spec.Split(':');
        if (parts.Length is < 2 or > 3) return false;
        var values = parts.Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN).ToArray();
        if (values.Any(v => !double.IsFinite(v) || v <= 0)) return false;
        (start, end) = (values[0], values[1]);
        if (values.Length == 3) fwhm = values[2];
        return true;
    }
}
