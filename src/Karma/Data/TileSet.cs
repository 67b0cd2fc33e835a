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
    /// Cuts tiles from <paramref name="scene"/> as <paramref name="options"/> say. Stored values are divided by
    /// the reflectance scale; bands are selected (and resampled) as configured; no-data and non-finite pixels
    /// become 0 and count towards the tile's no-data fraction. Reads one tile window at a time.
    /// </summary>
    public static TileSet FromScene(HyperspectralScene scene, TilingOptions options)
    {
        int tileSize = options.TileSize, stride = options.EffectiveStride;
        if (scene.Lines < tileSize || scene.Samples < tileSize)
            throw new KarmaException(scene.Path, $"is {scene.Lines}×{scene.Samples} pixels, smaller than one {tileSize}×{tileSize} tile. Use a smaller tile size (--tile-size).");
        var kept = options.Bands.Choose(scene);
        var wavelengths = scene.Metadata.Wavelengths is { } wl ? kept.Select(b => wl[b]).ToArray() : null;
        SpectralResampler? resampler = null;
        if (options.ResampleTo is { } target)
        {
            if (wavelengths is null)
                throw new KarmaException(scene.Path, "has no band wavelengths, so it cannot be resampled to the model's bands. Add wavelengths to its header.");
            resampler = new SpectralResampler(wavelengths, target, options.ResampleFwhm);
            wavelengths = target;
        }
        double scale = options.ReflectanceScale ?? scene.Metadata.ReflectanceScale
                       ?? (scene.DataType is RasterDataType.Float32 or RasterDataType.Float64 ? 1 : 10000);
        double? noData = scene.Metadata.NoDataValue;
        int pixels = tileSize * tileSize, bands = resampler?.TargetBands ?? kept.Length;
        var tiles = new List<Tile>();
        var buffer = new float[kept.Length * pixels];
        var invalid = new bool[pixels];
        for (int r = 0; r + tileSize <= scene.Lines; r += stride)
            for (int c = 0; c + tileSize <= scene.Samples; c += stride)
            {
                scene.ReadWindow(r, c, tileSize, tileSize, kept, buffer);
                Array.Clear(invalid);
                for (int b = 0; b < kept.Length; b++)
                    for (int p = 0; p < pixels; p++)
                    {
                        float v = buffer[b * pixels + p];
                        if (!float.IsFinite(v) || (noData is { } nd && v == nd)) invalid[p] = true;
                    }
                if (invalid.Count(x => x) > options.MaxNoDataFraction * pixels) continue;
                for (int b = 0; b < kept.Length; b++)
                    for (int p = 0; p < pixels; p++)
                        buffer[b * pixels + p] = invalid[p] ? 0f : (float)(buffer[b * pixels + p] / scale);
                var values = new float[bands * pixels];
                if (resampler is null) buffer.CopyTo(values, 0);
                else resampler.Apply(buffer, values, pixels);
                tiles.Add(new Tile(scene.Path, r, c, values));
            }
        return new TileSet { Tiles = tiles, TileSize = tileSize, Bands = bands, Wavelengths = wavelengths };
    }

    /// <summary>
    /// Tiles every scene in <paramref name="paths"/> (which must end up with the same bands) into one set.
    /// </summary>
    public static TileSet FromScenes(IEnumerable<string> paths, TilingOptions options)
    {
        var all = new List<Tile>();
        TileSet? first = null;
        string? firstPath = null;
        foreach (var path in paths)
        {
            using var scene = HyperspectralScene.Open(path);
            var set = FromScene(scene, options);
            if (first is not null && set.Bands != first.Bands)
                throw new KarmaException(path, $"has {set.Bands} usable bands but {firstPath} has {first.Bands}; use scenes with the same bands, or resample them to one band set.");
            (first, firstPath) = (first ?? set, firstPath ?? path);
            all.AddRange(set.Tiles);
        }
        if (first is null) throw new KarmaException("No scenes were given.");
        return first.With(all);
    }

    /// <summary>This set's tiles followed by <paramref name="other"/>'s (same tile size and bands).</summary>
    public TileSet Concat(TileSet other) => With([.. Tiles, .. other.Tiles]);

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

    /// <summary>A set with the same shape and wavelengths holding <paramref name="tiles"/>.</summary>
    public TileSet With(IReadOnlyList<Tile> tiles) => new() { Tiles = tiles, TileSize = TileSize, Bands = Bands, Wavelengths = Wavelengths };

    /// <summary>
    /// Up to <paramref name="count"/> valid pixels (not all zero) drawn without replacement with a seeded
    /// generator, as [bands, pixels], for endmember extraction and other per-pixel statistics.
    /// </summary>
    public float[,] SamplePixels(int count, int seed)
    {
        int pixels = TileSize * TileSize;
        var candidates = new List<(int Tile, int Pixel)>();
        for (int t = 0; t < Tiles.Count; t++)
            for (int p = 0; p < pixels; p++)
                for (int b = 0; b < Bands; b++)
                    if (Tiles[t].Values[b * pixels + p] != 0) { candidates.Add((t, p)); break; }
        var chosen = candidates.ToArray();
        new Random(seed).Shuffle(chosen);
        chosen = chosen.Take(count).ToArray();
        if (chosen.Length == 0) throw new KarmaException("The tiles hold no valid pixel to sample.");
        var result = new float[Bands, chosen.Length];
        for (int i = 0; i < chosen.Length; i++)
            for (int b = 0; b < Bands; b++)
                result[b, i] = Tiles[chosen[i].Tile].Values[b * pixels + chosen[i].Pixel];
        return result;
    }

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
