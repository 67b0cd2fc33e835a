using Karma.Data;

namespace Karma.Unmixing;

/// <summary>
/// Ground truth for an unmixing: reference endmembers [bands, R] and/or reference abundances [R][row][col]
/// (NaN where unknown). Read from a MATLAB file (an endmember matrix with one dimension equal to the number of
/// bands, an abundance cube rows × cols × R, as the Samson and Jasper Ridge sets ship) or from a raster of
/// cover fractions (one band per class; values outside [0, 1] such as −99 mean unknown; percentages are
/// divided by 100).
/// </summary>
public sealed record UnmixingTruth(double[,]? Endmembers, float[]? Abundances, int Count, string[] Names)
{
    /// <summary>
    /// Reads truth for a scene of <paramref name="rows"/> × <paramref name="cols"/> pixels and <paramref name="bands"/>
    /// bands from one or more files: a .mat (endmembers and/or abundances), a CSV of endmember spectra (first
    /// column wavelength), or a raster of abundances/cover fractions. Later files add what earlier ones lack.
    /// </summary>
    public static UnmixingTruth Read(IEnumerable<string> paths, int rows, int cols, int bands)
    {
        UnmixingTruth? merged = null;
        foreach (var path in paths)
        {
            string file = MatScene.Split(path).File;
            var part = file.EndsWith(".mat", StringComparison.OrdinalIgnoreCase) ? ReadMat(file, rows, cols, bands)
                     : file.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? ReadCsv(file, bands)
                     : ReadRaster(path, rows, cols);
            if (merged is not null && part.Count != merged.Count)
                throw new SceneFileException(path, $"has {part.Count} reference endmembers but the truth read before it has {merged.Count}.");
            merged = merged is null ? part : merged with
            {
                Endmembers = merged.Endmembers ?? part.Endmembers, Abundances = merged.Abundances ?? part.Abundances,
                Names = merged.Endmembers is null && part.Endmembers is not null ? part.Names : merged.Names,
            };
        }
        return merged ?? throw new InvalidSettingException("No truth files were given.");
    }

    /// <summary>Reads truth from one file; see <see cref="Read(IEnumerable{string}, int, int, int)"/>.</summary>
    public static UnmixingTruth Read(string path, int rows, int cols, int bands) => Read([path], rows, cols, bands);

    static UnmixingTruth ReadCsv(string path, int bands)
    {
        var library = SpectralLibrary.Read(path);
        if (library.Wavelengths.Length != bands)
            throw new BandMismatchException(path, $"lists spectra with {library.Wavelengths.Length} bands but the scene has {bands}.");
        var e = new double[bands, library.Names.Length];
        for (int b = 0; b < bands; b++)
            for (int j = 0; j < library.Names.Length; j++) e[b, j] = library.Spectra[j][b];
        return new UnmixingTruth(e, null, library.Names.Length, library.Names);
    }

    static UnmixingTruth ReadMat(string path, int rows, int cols, int bands)
    {
        var variables = MatFile.List(path).Where(v => v.IsNumeric).ToList();
        double[,]? endmembers = null;
        float[]? abundances = null;
        int count = 0;
        var e = variables.FirstOrDefault(v => v.Dimensions.Length == 2 && v.Dimensions.Contains(bands) && v.Count < (long)bands * 64);
        if (e is not null)
        {
            var array = MatFile.Read(path, e.Name);
            bool bandsFirst = e.Dimensions[0] == bands;
            count = bandsFirst ? e.Dimensions[1] : e.Dimensions[0];
            endmembers = new double[bands, count];
            for (int b = 0; b < bands; b++)
                for (int j = 0; j < count; j++) endmembers[b, j] = bandsFirst ? array[b, j] : array[j, b];
        }
        var a = variables.FirstOrDefault(v => v.Dimensions.Length == 3 && v.Dimensions[0] == rows && v.Dimensions[1] == cols && (count == 0 || v.Dimensions[2] == count));
        if (a is not null)
        {
            var array = MatFile.Read(path, a.Name);
            count = a.Dimensions[2];
            abundances = new float[count * rows * cols];
            for (int j = 0; j < count; j++)
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++) abundances[(j * rows + r) * cols + c] = Clean(array[r, c, j]);
        }
        if (endmembers is null && abundances is null)
            throw new SceneFileException(path, $"holds neither an endmember matrix with {bands} bands nor a {rows}×{cols}×R abundance cube. It holds: {string.Join(", ", variables)}.");
        return new UnmixingTruth(endmembers, abundances, count, Enumerable.Range(1, count).Select(i => $"reference {i}").ToArray());
    }

    static UnmixingTruth ReadRaster(string path, int rows, int cols)
    {
        using var scene = HyperspectralScene.Open(path);
        if (scene.Lines != rows || scene.Samples != cols)
            throw new SceneFileException(path, $"is {scene.Lines}×{scene.Samples} pixels but the scene unmixed is {rows}×{cols}; the truth must be on the same grid.");
        var values = new float[scene.Bands * rows * cols];
        scene.ReadWindow(0, 0, rows, cols, [], values);
        double max = values.Where(v => float.IsFinite(v) && v <= 100).DefaultIfEmpty(0).Max();
        float divide = max > 1.5 ? 100 : 1;
        for (int i = 0; i < values.Length; i++)
            values[i] = scene.Metadata.NoDataValue is { } nd && values[i] == nd ? float.NaN : Clean(values[i] / divide);
        var names = scene.Metadata.BandNames ?? Enumerable.Range(1, scene.Bands).Select(i => $"class {i}").ToArray();
        return new UnmixingTruth(null, values, scene.Bands, names);
    }

    static float Clean(double v) => v is >= -1e-6 and <= 1 + 1e-6 ? (float)v : float.NaN;
}

/// <summary>
/// How an unmixing compares with truth, per reference endmember and on average: the estimate matched to each reference,
/// their SAD, the abundance RMSE and, where truth abundances exist, the share of the pixels a reference dominates (largest
/// abundance) that its matched estimate dominates too (<see cref="DominantAgreement"/>; <see cref="MeanDominantAgreement"/>
/// over all pixels).
/// </summary>
public sealed record UnmixingScore(string[] Names, int[] MatchedEstimate, double[]? SadDegrees, double? MeanSadDegrees, double[]? AbundanceRmse, double? MeanAbundanceRmse,
                                   double[]? DominantAgreement = null, double? MeanDominantAgreement = null)
{
    /// <summary>
    /// Scores <paramref name="result"/>: estimates are matched one-to-one to references by spectral angle when
    /// truth endmembers exist, otherwise by abundance RMSE (both with the Hungarian algorithm).
    /// </summary>
    public static UnmixingScore Compute(UnmixingResult result, UnmixingTruth truth)
    {
        int pixels = result.Rows * result.Cols, r = truth.Count;
        if (result.Count < r)
            throw new InvalidSettingException($"The unmixing found {result.Count} endmembers but the truth has {r}; unmix with {r} or more endmembers.") { Settings = ["Endmembers"] };
        double[,]? rmseCost = null;
        if (truth.Abundances is { } ta)
        {
            rmseCost = new double[r, result.Count];
            for (int i = 0; i < r; i++)
                for (int j = 0; j < result.Count; j++)
                {
                    double se = 0;
                    int n = 0;
                    for (int p = 0; p < pixels; p++)
                    {
                        float t = ta[i * pixels + p], e = result.Abundances[j * pixels + p];
                        if (float.IsNaN(t) || float.IsNaN(e)) continue;
                        se += (t - e) * (double)(t - e);
                        n++;
                    }
                    rmseCost[i, j] = n > 0 ? Math.Sqrt(se / n) : double.NaN;
                }
        }
        int[] match;
        double[]? sad = null;
        if (truth.Endmembers is { } te)
        {
            if (te.GetLength(0) != result.Endmembers.GetLength(0))
                throw new BandMismatchException($"The truth endmembers have {te.GetLength(0)} bands but the unmixed scene {result.Endmembers.GetLength(0)}; keep every band (no band removal) to compare.");
            (match, sad) = EndmemberMatching.Match(te, result.Endmembers);
        }
        else match = EndmemberMatching.Hungarian(rmseCost!);
        var rmse = rmseCost is null ? null : match.Select((j, i) => rmseCost[i, j]).ToArray();
        var (dominant, meanDominant) = truth.Abundances is { } abundances ? Dominance(abundances, result, match, r, pixels) : (null, (double?)null);
        return new UnmixingScore(truth.Names, match, sad, sad?.Average(), rmse, rmse?.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average(), dominant, meanDominant);
    }

    /// <summary>Per reference: of the pixels it dominates in the truth, the share its matched estimate dominates; and that share over all pixels.</summary>
    static (double[], double?) Dominance(float[] truth, UnmixingResult result, int[] match, int r, int pixels)
    {
        var hits = new int[r];
        var counts = new int[r];
        for (int p = 0; p < pixels; p++)
        {
            int best = -1;
            for (int i = 0; i < r; i++)
            {
                float v = truth[i * pixels + p];
                if (float.IsNaN(v)) { best = -1; break; }
                if (best < 0 || v > truth[best * pixels + p]) best = i;
            }
            if (best < 0 || float.IsNaN(result.Abundances[p])) continue;
            int estimated = 0;
            for (int j = 1; j < result.Count; j++)
                if (result.Abundances[j * pixels + p] > result.Abundances[estimated * pixels + p]) estimated = j;
            counts[best]++;
            if (estimated == match[best]) hits[best]++;
        }
        int total = counts.Sum();
        return (hits.Select((h, i) => counts[i] > 0 ? h / (double)counts[i] : double.NaN).ToArray(), total > 0 ? hits.Sum() / (double)total : null);
    }
}
