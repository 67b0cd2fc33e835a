namespace Karma.Data;

/// <summary>A whole scene in reflectance, [band][row][col], with invalid (no-data) pixels flagged and its bands described (or null).</summary>
public sealed record ReflectanceCube(float[] Values, bool[] Invalid, int Bands, int Rows, int Cols, SpectralBands? Spectral, SceneMetadata Source)
{
    /// <summary>Band centres (nm), or null.</summary>
    public double[]? Wavelengths => Spectral?.Centres;

    /// <summary>Reads <paramref name="scene"/> through a <see cref="ReflectanceReader"/> configured by <paramref name="options"/>.</summary>
    public static ReflectanceCube Read(HyperspectralScene scene, TilingOptions options)
    {
        var reader = new ReflectanceReader(scene, options);
        var values = new float[reader.Bands * scene.Lines * scene.Samples];
        var invalid = new bool[scene.Lines * scene.Samples];
        reader.Read(0, 0, scene.Lines, scene.Samples, values, invalid);
        return new ReflectanceCube(values, invalid, reader.Bands, scene.Lines, scene.Samples, reader.Spectral, scene.Metadata);
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
    public IEnumerable<(int Row, int Col, float[] Values)> CoveringTiles(int tile, int? stride = null)
    {
        if (Rows < tile || Cols < tile) throw new InvalidSettingException($"The scene is {Rows}×{Cols} pixels, smaller than one {tile}×{tile} tile.");
        foreach (int r in TileSet.CoveringOrigins(Rows, tile, stride))
            foreach (int c in TileSet.CoveringOrigins(Cols, tile, stride))
            {
                var values = new float[Bands * tile * tile];
                for (int b = 0; b < Bands; b++)
                    for (int y = 0; y < tile; y++)
                        Array.Copy(Values, (b * Rows + r + y) * Cols + c, values, (b * tile + y) * tile, tile);
                yield return (r, c, values);
            }
    }

    /// <summary>
    /// The cube grown by <paramref name="pad"/> pixels on every side by mirroring it at its edges (the edge pixel not
    /// repeated), so a pixel at the border has neighbours on every side; padding pixels copy their mirror's validity.
    /// </summary>
    public ReflectanceCube Mirror(int pad)
    {
        if (pad <= 0) return this;
        if (pad >= Rows || pad >= Cols) throw new InvalidSettingException($"Cannot mirror a {Rows}×{Cols} scene by {pad} pixels.");
        int rows = Rows + 2 * pad, cols = Cols + 2 * pad;
        static int Reflect(int i, int n) => i < 0 ? -i : i >= n ? 2 * n - 2 - i : i;
        var values = new float[Bands * rows * cols];
        var invalid = new bool[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                int source = Reflect(r - pad, Rows) * Cols + Reflect(c - pad, Cols);
                invalid[r * cols + c] = Invalid[source];
                for (int b = 0; b < Bands; b++) values[(b * rows + r) * cols + c] = Values[b * Rows * Cols + source];
            }
        return this with { Values = values, Invalid = invalid, Rows = rows, Cols = cols };
    }

    /// <summary>Sets every invalid pixel of <paramref name="planes"/> ([k][row][col], any k) to NaN, so no-data never looks like a value.</summary>
    public float[] MaskInvalid(float[] planes)
    {
        int pixels = Rows * Cols;
        for (int p = 0; p < pixels; p++)
            if (Invalid[p]) for (int k = p; k < planes.Length; k += pixels) planes[k] = float.NaN;
        return planes;
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
