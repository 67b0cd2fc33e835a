namespace Karma.Data;

/// <summary>
/// Square tiles cut from scenes, in reflectance, with bad bands removed: the unit of training and
/// evaluation. Tiles whose no-data fraction exceeds a threshold are skipped. Each tile remembers where it
/// came from so splits can be made by spatial blocks (a validation tile never overlaps a training tile).
/// </summary>
public sealed class TileSet
{
    /// <summary>One tile: [bands][T][T] reflectance, and its top-left pixel in the source scene.</summary>
    public sealed record Tile(string Scene, int Row, int Col, float[] Values);

    /// <summary>The tiles.</summary>
    public required IReadOnlyList<Tile> Tiles { get; init; }
    /// <summary>Tile side.</summary>
    public required int TileSize { get; init; }
    /// <summary>Bands kept per pixel.</summary>
    public required int Bands { get; init; }
    /// <summary>Wavelengths of the kept bands (nm), or null.</summary>
    public double[]? Wavelengths { get; init; }

    /// <summary>
    /// Cuts tiles of <paramref name="tileSize"/> with <paramref name="stride"/> from <paramref name="scene"/>.
    /// Stored values are divided by the scene's reflectance scale (or by 10000 when none is given and values
    /// look like integer-scaled reflectance); bands flagged bad in the file are dropped; no-data and
    /// non-finite pixels become 0 and count towards <paramref name="maxNoDataFraction"/>.
    /// </summary>
    public static TileSet FromScene(HyperspectralScene scene, int tileSize, int stride, double maxNoDataFraction = 0.1)
    {
        if (scene.Lines < tileSize || scene.Samples < tileSize)
            throw new KarmaException(scene.Path, $"is {scene.Lines}×{scene.Samples} pixels, smaller than one {tileSize}×{tileSize} tile. Use a smaller preset or tile size.");
        var good = Enumerable.Range(0, scene.Bands).Where(b => scene.Metadata.GoodBands?[b] ?? true).ToArray();
        double scale = scene.Metadata.ReflectanceScale ?? (scene.DataType is RasterDataType.Float32 or RasterDataType.Float64 ? 1 : 10000);
        double? noData = scene.Metadata.NoDataValue;
        var tiles = new List<Tile>();
        var buffer = new float[good.Length * tileSize * tileSize];
        int pixels = tileSize * tileSize;
        for (int r = 0; r + tileSize <= scene.Lines; r += stride)
            for (int c = 0; c + tileSize <= scene.Samples; c += stride)
            {
                scene.ReadWindow(r, c, tileSize, tileSize, good, buffer);
                var invalid = new bool[pixels];
                for (int b = 0; b < good.Length; b++)
                    for (int p = 0; p < pixels; p++)
                    {
                        float v = buffer[b * pixels + p];
                        if (!float.IsFinite(v) || (noData is { } nd && v == nd)) invalid[p] = true;
                    }
                if (invalid.Count(x => x) > maxNoDataFraction * pixels) continue;
                var values = new float[buffer.Length];
                for (int b = 0; b < good.Length; b++)
                    for (int p = 0; p < pixels; p++)
                        values[b * pixels + p] = invalid[p] ? 0f : (float)(buffer[b * pixels + p] / scale);
                tiles.Add(new Tile(scene.Path, r, c, values));
            }
        return new TileSet
        {
            Tiles = tiles, TileSize = tileSize, Bands = good.Length,
            Wavelengths = scene.Metadata.Wavelengths is { } wl ? good.Select(b => wl[b]).ToArray() : null,
        };
    }

    /// <summary>
    /// Splits by spatial blocks at the row boundary that leaves <paramref name="validationFraction"/> of the
    /// scene's rows below it: tiles wholly above go to training, tiles starting at or below go to validation,
    /// and tiles straddling the boundary are dropped, so no validation pixel sits inside a training tile.
    /// </summary>
    public (TileSet Train, TileSet Validation) SplitByRows(int sceneLines, double validationFraction)
    {
        int boundary = (int)Math.Round(sceneLines * (1 - validationFraction));
        var train = Tiles.Where(t => t.Row + TileSize <= boundary).ToList();
        var validation = Tiles.Where(t => t.Row >= boundary).ToList();
        return (With(train), With(validation));
    }

    TileSet With(IReadOnlyList<Tile> tiles) => new() { Tiles = tiles, TileSize = TileSize, Bands = Bands, Wavelengths = Wavelengths };

    /// <summary>Per-band mean and standard deviation over all tiles, accumulated in double precision.</summary>
    public (float[] Mean, float[] Std) BandStatistics()
    {
        var sum = new double[Bands];
        var sumSq = new double[Bands];
        long count = 0;
        int pixels = TileSize * TileSize;
        foreach (var t in Tiles)
        {
            for (int b = 0; b < Bands; b++)
                for (int p = 0; p < pixels; p++) { double v = t.Values[b * pixels + p]; sum[b] += v; sumSq[b] += v * v; }
            count += pixels;
        }
        if (count == 0) return (new float[Bands], Enumerable.Repeat(1f, Bands).ToArray());
        var mean = sum.Select(s => (float)(s / count)).ToArray();
        var std = sumSq.Select((s, b) => (float)Math.Sqrt(Math.Max(s / count - mean[b] * (double)mean[b], 1e-12))).ToArray();
        return (mean, std);
    }
}
