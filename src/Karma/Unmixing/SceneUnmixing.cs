using Karma.Data;
using Karma.Model;

namespace Karma.Unmixing;

/// <summary>
/// Endmembers [bands, M], per-pixel abundances [M][row][col] and the per-pixel reconstruction error
/// RMSE(A·a, y) [row][col]; invalid pixels hold NaN.
/// </summary>
public sealed record UnmixingResult(double[,] Endmembers, float[] Abundances, float[] Error, int Rows, int Cols, string Method)
{
    /// <summary>
    /// A wavelength-aware model's endmembers as it keeps them, on the fine grid ([grid points, M] at
    /// <see cref="Model.SpectralGrid.Centres"/>), or null: the sensor-independent spectra behind <see cref="Endmembers"/>.
    /// </summary>
    public double[,]? FineEndmembers { get; init; }

    /// <summary>Number of endmembers.</summary>
    public int Count => Endmembers.GetLength(1);
}

/// <summary>Unmixes a whole scene with a classic method (VCA + FCLS, or FCLS with given endmembers) or a trained KARMA model.</summary>
public static class SceneUnmixing
{
    /// <summary>VCA endmembers from up to 20000 sampled pixels, then FCLS abundances for every pixel.</summary>
    public static UnmixingResult VcaFcls(ReflectanceCube cube, int endmembers, int seed = 0)
    {
        var (e, _) = VertexComponentAnalysis.Extract(cube.SamplePixels(20000, seed), endmembers, seed);
        return Fcls(cube, ToDouble(e), "vca-fcls");
    }

    /// <summary>FCLS abundances of every pixel for the given endmembers [bands, M].</summary>
    public static UnmixingResult Fcls(ReflectanceCube cube, double[,] endmembers, string method = "fcls")
    {
        int m = endmembers.GetLength(1), pixels = cube.Rows * cube.Cols;
        if (endmembers.GetLength(0) != cube.Bands)
            throw new BandMismatchException($"The endmembers have {endmembers.GetLength(0)} bands but the scene has {cube.Bands} after band selection.");
        var fcls = new FullyConstrainedLeastSquares(ToFloat(endmembers));
        var abundances = new float[m * pixels];
        Parallel.For(0, pixels, () => new double[m], (p, _, local) =>
        {
            if (cube.Invalid[p]) { for (int j = 0; j < m; j++) abundances[j * pixels + p] = float.NaN; return local; }
            fcls.Unmix(cube.Spectrum(p), local);
            for (int j = 0; j < m; j++) abundances[j * pixels + p] = (float)local[j];
            return local;
        }, _ => { });
        return new UnmixingResult(endmembers, abundances, Error(cube, endmembers, abundances), cube.Rows, cube.Cols, method);
    }

    /// <summary>
    /// KARMA's own unmixing: the physics branch's endmembers A and its per-pixel abundances with nothing masked.
    /// Tiles cover the scene edge to edge (the last row and column of tiles are aligned to the border).
    /// </summary>
    public static UnmixingResult Karma(KarmaModel model, ReflectanceCube cube)
    {
        if (model.Physics is null) throw new InvalidSettingException($"A {model.Config.Variant} model has no physics branch; unmix with the vca-fcls method.") { Settings = ["Method"] };
        int m = model.Config.Endmembers;
        var abundances = cube.MaskInvalid(TiledInference.Run(model, cube, m, images => model.Abundances(images, cube.Spectral)));
        var endmembers = KarmaEndmembers(model, cube);
        double[,]? fine = null;
        if (model.Config.ByWavelength)
        {
            using var _ = TorchSharp.torch.no_grad();
            using var grid = model.Physics!.Endmembers().detach().cpu();
            var values = grid.data<float>().ToArray();
            fine = new double[SpectralGrid.Points, m];
            for (int g = 0; g < SpectralGrid.Points; g++) for (int j = 0; j < m; j++) fine[g, j] = values[g * m + j];
        }
        return new UnmixingResult(endmembers, abundances, Error(cube, endmembers, abundances), cube.Rows, cube.Cols, "karma") { FineEndmembers = fine };
    }

    /// <summary>The physics branch's endmember matrix A at <paramref name="cube"/>'s bands, [bands, M].</summary>
    public static double[,] KarmaEndmembers(KarmaModel model, ReflectanceCube cube)
    {
        int m = model.Config.Endmembers;
        using var _ = TorchSharp.torch.no_grad();
        using var spectra = model.Endmembers(cube.Spectral).detach().cpu();
        var e = spectra.data<float>().ToArray();
        var endmembers = new double[cube.Bands, m];
        for (int b = 0; b < cube.Bands; b++)
            for (int j = 0; j < m; j++) endmembers[b, j] = e[b * m + j];
        return endmembers;
    }

    static float[] Error(ReflectanceCube cube, double[,] endmembers, float[] abundances)
    {
        int m = endmembers.GetLength(1), pixels = cube.Rows * cube.Cols;
        var error = new float[pixels];
        for (int p = 0; p < pixels; p++)
        {
            if (cube.Invalid[p]) { error[p] = float.NaN; continue; }
            double se = 0;
            for (int b = 0; b < cube.Bands; b++)
            {
                double mixed = 0;
                for (int j = 0; j < m; j++) mixed += endmembers[b, j] * abundances[j * pixels + p];
                double d = mixed - cube.Values[b * pixels + p];
                se += d * d;
            }
            error[p] = (float)Math.Sqrt(se / cube.Bands);
        }
        return error;
    }

    static double[,] ToDouble(float[,] a)
    {
        var r = new double[a.GetLength(0), a.GetLength(1)];
        for (int i = 0; i < a.GetLength(0); i++) for (int j = 0; j < a.GetLength(1); j++) r[i, j] = a[i, j];
        return r;
    }

    static float[,] ToFloat(double[,] a)
    {
        var r = new float[a.GetLength(0), a.GetLength(1)];
        for (int i = 0; i < a.GetLength(0); i++) for (int j = 0; j < a.GetLength(1); j++) r[i, j] = (float)a[i, j];
        return r;
    }
}
