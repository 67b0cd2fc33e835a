using Karma.Data;
using Karma.Model;
using static TorchSharp.torch;

namespace Karma.Unmixing;

/// <summary>A whole scene in reflectance, [band][row][col], with invalid (no-data) pixels flagged.</summary>
public sealed record ReflectanceCube(float[] Values, bool[] Invalid, int Bands, int Rows, int Cols, double[]? Wavelengths, SceneMetadata Source)
{
    /// <summary>Reads <paramref name="scene"/> through a <see cref="ReflectanceReader"/> configured by <paramref name="options"/>.</summary>
    public static ReflectanceCube Read(HyperspectralScene scene, TilingOptions options)
    {
        var reader = new ReflectanceReader(scene, options);
        var values = new float[reader.Bands * scene.Lines * scene.Samples];
        var invalid = new bool[scene.Lines * scene.Samples];
        reader.Read(0, 0, scene.Lines, scene.Samples, values, invalid);
        return new ReflectanceCube(values, invalid, reader.Bands, scene.Lines, scene.Samples, reader.Wavelengths, scene.Metadata);
    }

    /// <summary>The spectrum of pixel <paramref name="p"/> (row-major index).</summary>
    public float[] Spectrum(int p)
    {
        var s = new float[Bands];
        for (int b = 0; b < Bands; b++) s[b] = Values[b * Rows * Cols + p];
        return s;
    }

    /// <summary>
    /// Tiles of side <paramref name="tile"/> that cover the cube edge to edge (the last row and column of tiles
    /// aligned to the border), each as (row, col, [bands][tile][tile] values).
    /// </summary>
    public IEnumerable<(int Row, int Col, float[] Values)> CoveringTiles(int tile)
    {
        if (Rows < tile || Cols < tile) throw new KarmaException($"The scene is {Rows}×{Cols} pixels, smaller than one {tile}×{tile} tile.");
        foreach (int r in TileSet.CoveringOrigins(Rows, tile))
            foreach (int c in TileSet.CoveringOrigins(Cols, tile))
            {
                var values = new float[Bands * tile * tile];
                for (int b = 0; b < Bands; b++)
                    for (int y = 0; y < tile; y++)
                        Array.Copy(Values, (b * Rows + r + y) * Cols + c, values, (b * tile + y) * tile, tile);
                yield return (r, c, values);
            }
    }

    /// <summary>Up to <paramref name="count"/> valid pixels as [bands, pixels], seeded.</summary>
    public float[,] SamplePixels(int count, int seed)
    {
        var valid = Enumerable.Range(0, Rows * Cols).Where(p => !Invalid[p]).ToArray();
        new Random(seed).Shuffle(valid);
        valid = valid.Take(count).ToArray();
        var result = new float[Bands, valid.Length];
        for (int i = 0; i < valid.Length; i++)
            for (int b = 0; b < Bands; b++) result[b, i] = Values[b * Rows * Cols + valid[i]];
        return result;
    }
}

/// <summary>
/// Endmembers [bands, M], per-pixel abundances [M][row][col] and the per-pixel reconstruction error
/// RMSE(A·a, y) [row][col]; invalid pixels hold NaN.
/// </summary>
public sealed record UnmixingResult(double[,] Endmembers, float[] Abundances, float[] Error, int Rows, int Cols, string Method)
{
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
            throw new KarmaException($"The endmembers have {endmembers.GetLength(0)} bands but the scene has {cube.Bands} after band selection.");
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
        var physics = model.Physics ?? throw new KarmaException($"A {model.Config.Variant} model has no physics branch; unmix with --method vca-fcls.");
        int t = model.Config.TileSize, m = model.Config.Endmembers, pixels = cube.Rows * cube.Cols;
        if (cube.Bands != model.Config.Bands) throw new KarmaException($"The scene has {cube.Bands} bands but the model {model.Config.Bands}.");
        var abundances = new float[m * pixels];
        model.eval();
        using var _ = no_grad();
        foreach (var (r, c, tile) in cube.CoveringTiles(t))
        {
            using var input = tensor(tile, 1, cube.Bands, t, t).to(model.Device);
            using var a = model.Abundances(input).cpu();
            var values = a.data<float>().ToArray();
            for (int j = 0; j < m; j++)
                for (int y = 0; y < t; y++)
                    for (int x = 0; x < t; x++)
                        abundances[j * pixels + (r + y) * cube.Cols + c + x] = values[(j * t + y) * t + x];
        }
        for (int p = 0; p < pixels; p++)
            if (cube.Invalid[p]) for (int j = 0; j < m; j++) abundances[j * pixels + p] = float.NaN;
        using var spectra = physics.Endmembers().cpu();
        var e = spectra.data<float>().ToArray();
        var endmembers = new double[cube.Bands, m];
        for (int b = 0; b < cube.Bands; b++)
            for (int j = 0; j < m; j++) endmembers[b, j] = e[b * m + j];
        return new UnmixingResult(endmembers, abundances, Error(cube, endmembers, abundances), cube.Rows, cube.Cols, "karma");
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
