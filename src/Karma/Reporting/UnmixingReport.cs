using System.Globalization;
using System.Text;
using System.Text.Json;
using Karma.Data;
using Karma.Unmixing;

namespace Karma.Reporting;

/// <summary>An estimated endmember's nearest library spectrum by spectral angle.</summary>
public sealed record LibraryMatch(int Endmember, string Name, double SadDegrees);

/// <summary>Everything <c>karma unmix</c> reports in <c>unmix.json</c>.</summary>
public sealed record UnmixingSummary(string Method, int Endmembers, int Rows, int Cols, double MeanErrorRmse, LibraryMatch[]? Library, UnmixingScore? Truth);

/// <summary>
/// Writes an unmixing to a folder: <c>abundances.tif</c> (one band per endmember, georeferencing carried over),
/// <c>endmembers.csv</c> and <c>endmembers.png</c> (spectra against wavelength), one map per endmember
/// (<c>abundance_K.png</c>), an RGB composite of the first three abundances, the reconstruction-error map
/// (<c>error.png</c>, <c>error.tif</c>) and <c>unmix.json</c>.
/// </summary>
public static class UnmixingReport
{

    /// <summary>Each estimated endmember's closest spectrum in <paramref name="library"/>.</summary>
    public static LibraryMatch[] MatchLibrary(UnmixingResult result, SpectralLibrary library, double[] wavelengths)
    {
        var reference = library.ResampleTo(wavelengths);
        return Enumerable.Range(0, result.Count).Select(j =>
        {
            var e = EndmemberMatching.Column(result.Endmembers, j);
            var (name, sad) = Enumerable.Range(0, library.Names.Length)
                .Select(k => (library.Names[k], EndmemberMatching.SpectralAngleDegrees(e, EndmemberMatching.Column(reference, k))))
                .MinBy(x => x.Item2);
            return new LibraryMatch(j + 1, name, sad);
        }).ToArray();
    }

    /// <summary>Writes every output of <paramref name="result"/> into <paramref name="directory"/> and returns the summary.</summary>
    public static UnmixingSummary Write(UnmixingResult result, ReflectanceCube cube, string directory, LibraryMatch[]? library = null, UnmixingScore? truth = null)
    {
        Directory.CreateDirectory(directory);
        int m = result.Count, rows = result.Rows, cols = result.Cols, pixels = rows * cols;
        var names = Enumerable.Range(1, m).Select(j => library?[j - 1] is { } match ? $"endmember {j} ({match.Name})" : $"endmember {j}").ToArray();
        var geo = new SceneMetadata { GeoTransform = cube.Source.GeoTransform, CoordinateSystem = cube.Source.CoordinateSystem, MapInfo = cube.Source.MapInfo, BandNames = names };
        SceneWriter.Write(Path.Combine(directory, "abundances.tif"), rows, cols, m, result.Abundances, geo);
        SceneWriter.Write(Path.Combine(directory, "error.tif"), rows, cols, 1, result.Error, geo with { BandNames = ["reconstruction RMSE"] });

        var csv = new StringBuilder(cube.Wavelengths is null ? "band" : "wavelength_nm");
        for (int j = 1; j <= m; j++) csv.Append($",endmember_{j}");
        csv.AppendLine();
        for (int b = 0; b < cube.Bands; b++)
        {
            csv.Append(cube.Wavelengths is { } wl ? wl[b].ToString("R", CultureInfo.InvariantCulture) : (b + 1).ToString(CultureInfo.InvariantCulture));
            for (int j = 0; j < m; j++) csv.Append(',').Append(result.Endmembers[b, j].ToString("R", CultureInfo.InvariantCulture));
            csv.AppendLine();
        }
        AtomicFiles.WriteText(Path.Combine(directory, "endmembers.csv"), csv.ToString());
        if (result.FineEndmembers is { } fine)
        {
            // A wavelength-aware model's own spectra: on the fine grid, whatever the scene's sensor.
            var grid = Model.SpectralGrid.Centres;
            Plots.Spectra(Path.Combine(directory, "endmembers.png"), grid,
                          Enumerable.Range(0, m).Select(j => (names[j], EndmemberMatching.Column(fine, j))), $"Endmembers ({result.Method}, fine grid)");
            var fineCsv = new StringBuilder("wavelength_nm" + string.Concat(Enumerable.Range(1, m).Select(j => $",endmember_{j}")) + "\n");
            for (int g = 0; g < grid.Length; g++)
                fineCsv.Append(grid[g].ToString("R", CultureInfo.InvariantCulture)).Append(string.Concat(Enumerable.Range(0, m).Select(j => "," + fine[g, j].ToString("R", CultureInfo.InvariantCulture)))).Append('\n');
            AtomicFiles.WriteText(Path.Combine(directory, "endmembers_grid.csv"), fineCsv.ToString());
        }
        else
            Plots.Spectra(Path.Combine(directory, "endmembers.png"), cube.Wavelengths,
                          Enumerable.Range(0, m).Select(j => (names[j], EndmemberMatching.Column(result.Endmembers, j))), $"Endmembers ({result.Method})");
        for (int j = 0; j < m; j++)
            Plots.Map(Path.Combine(directory, $"abundance_{j + 1}.png"), Grid(result.Abundances.AsSpan(j * pixels, pixels), rows, cols), $"Abundance of {names[j]}", "abundance", (0, 1));
        if (m >= 3)
        {
            using var rgb = Plots.Composite(result.Abundances.AsSpan(0, 3 * pixels), 3, rows, cols, [3, 2, 1], (3, 2, 1), scale: Math.Max(1, 300 / Math.Max(rows, cols)));
            Plots.SavePng(rgb, Path.Combine(directory, "abundances_rgb.png"));
        }
        Plots.Map(Path.Combine(directory, "error.png"), Grid(result.Error, rows, cols), $"Reconstruction error ({result.Method})", "RMSE (reflectance)");
        var summary = new UnmixingSummary(result.Method, m, rows, cols, result.Error.Where(float.IsFinite).Select(v => (double)v).DefaultIfEmpty(double.NaN).Average(), library, truth);
        AtomicFiles.WriteText(Path.Combine(directory, "unmix.json"), JsonSerializer.Serialize(summary, KarmaJson.Indented));
        return summary;
    }

    static double[,] Grid(ReadOnlySpan<float> values, int rows, int cols)
    {
        var grid = new double[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) grid[r, c] = values[r * cols + c];
        return grid;
    }
}
