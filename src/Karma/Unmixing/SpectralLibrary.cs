using System.Globalization;
using Karma.Data;

namespace Karma.Unmixing;

/// <summary>
/// Named reference spectra on a wavelength grid (nm), in reflectance: an ENVI spectral library (<c>.sli</c> +
/// <c>.hdr</c>, one spectrum per line) or a CSV whose first column is the wavelength and whose other columns are
/// spectra named in the header row. Integer-scaled libraries (values above 2) are divided by their
/// <c>reflectance scale factor</c>, or by 10000 when none is given.
/// </summary>
public sealed record SpectralLibrary(string Path, double[] Wavelengths, string[] Names, double[][] Spectra)
{
    /// <summary>Reads a library from <paramref name="path"/>.</summary>
    public static SpectralLibrary Read(string path)
    {
        if (!File.Exists(path)) throw new SceneFileException(path, "does not exist.");
        var library = path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? ReadCsv(path) : ReadEnvi(path);
        if (library.Wavelengths.Max() < 100) library = library with { Wavelengths = library.Wavelengths.Select(w => w * 1000).ToArray() };
        return library;
    }

    static SpectralLibrary ReadEnvi(string path)
    {
        string header = path.EndsWith(".hdr", StringComparison.OrdinalIgnoreCase) ? path : System.IO.Path.ChangeExtension(path, ".hdr");
        var h = EnviHeader.Read(header);
        using var scene = EnviScene.Open(header);
        var wavelengths = h.Doubles("wavelength", scene.Samples)
                          ?? throw new SceneFileException(header, "lists no wavelengths; a spectral library needs them to be matched or resampled.");
        var names = h.List("spectra names") ?? Enumerable.Range(1, scene.Lines).Select(i => $"spectrum {i}").ToArray();
        if (names.Length != scene.Lines) throw new SceneFileException(header, $"names {names.Length} spectra but holds {scene.Lines}.");
        var values = new float[scene.Lines * scene.Samples];
        scene.ReadWindow(0, 0, scene.Lines, scene.Samples, [0], values);
        var spectra = Enumerable.Range(0, scene.Lines).Select(i => values.AsSpan(i * scene.Samples, scene.Samples).ToArray().Select(v => (double)v).ToArray()).ToArray();
        return new SpectralLibrary(path, wavelengths, names, Scale(spectra, h.Double("reflectance scale factor")));
    }

    static SpectralLibrary ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToArray();
        if (lines.Length < 3) throw new SceneFileException(path, "needs a header row and at least two wavelengths.");
        var names = lines[0].Split(',').Skip(1).Select(n => n.Trim()).ToArray();
        var wavelengths = new double[lines.Length - 1];
        var spectra = names.Select(_ => new double[lines.Length - 1]).ToArray();
        for (int i = 1; i < lines.Length; i++)
        {
            var cells = lines[i].Split(',');
            if (cells.Length != names.Length + 1) throw new SceneFileException(path, $"line {i + 1} has {cells.Length} values; the header has {names.Length + 1} columns.");
            wavelengths[i - 1] = Parse(cells[0], path, i);
            for (int j = 0; j < names.Length; j++) spectra[j][i - 1] = Parse(cells[j + 1], path, i);
        }
        return new SpectralLibrary(path, wavelengths, names, Scale(spectra, null));
    }

    static double Parse(string cell, string path, int line) =>
        double.TryParse(cell.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v : throw new SceneFileException(path, $"line {line + 1} holds '{cell.Trim()}', which is not a number.");

    static double[][] Scale(double[][] spectra, double? factor)
    {
        double max = spectra.SelectMany(s => s).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        double divide = factor ?? (max > 2 ? 10000 : 1);
        return divide == 1 ? spectra : spectra.Select(s => s.Select(v => v / divide).ToArray()).ToArray();
    }

    /// <summary>The spectra resampled to <paramref name="wavelengths"/> (linear interpolation), as [bands, spectra].</summary>
    public double[,] ResampleTo(double[] wavelengths)
    {
        var order = Enumerable.Range(0, Wavelengths.Length).OrderBy(i => Wavelengths[i]).ToArray();
        var source = order.Select(i => Wavelengths[i]).ToArray();
        var inside = wavelengths.Select(w => Math.Clamp(w, source[0], source[^1])).ToArray();
        var resampler = new SpectralResampler(source, inside);
        var result = new double[wavelengths.Length, Spectra.Length];
        var output = new float[wavelengths.Length];
        for (int j = 0; j < Spectra.Length; j++)
        {
            resampler.Apply(order.Select(i => (float)Spectra[j][i]).ToArray(), output, 1);
            for (int b = 0; b < wavelengths.Length; b++) result[b, j] = output[b];
        }
        return result;
    }
}
