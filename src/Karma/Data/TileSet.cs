namespace Karma.Data;

/// <summary>
/// Square tiles cut from scenes, in reflectance, with bad bands removed: the unit of training and
/// evaluation. Tiles whose no-data fraction exceeds a threshold are skipped. Each tile remembers where it
/// came from so splits can be made by spatial blocks (a validation tile never overlaps a training tile).
/// </summary>
public sealed class TileSet
{
    /// <summary>
    /// One tile: [bands][T][T] reflectance, its top-left pixel in the source scene, and which pixels are no-data,
    /// non-finite or quality-flagged ([T][T]; null when all are valid). Invalid pixels hold 0 and are left out of losses.
    /// </summary>
    public sealed record Tile(string Scene, int Row, int Col, float[] Values, bool[]? Invalid = null);

    /// <summary>The tiles.</summary>
    public required IReadOnlyList<Tile> Tiles { get; init; }
    /// <summary>Tile side.</summary>
    public required int TileSize { get; init; }
    /// <summary>Bands kept per pixel.</summary>
    public required int Bands { get; init; }
    /// <summary>Centres and widths of the kept bands, or null when the scenes describe none.</summary>
    public SpectralBands? Spectral { get; init; }
    /// <summary>Wavelengths of the kept bands (nm), or null.</summary>
    public double[]? Wavelengths => Spectral?.Centres;
    /// <summary>True when a scene had more tile positions than <see cref="TilingOptions.MemoryBudgetMiB"/> allows and a subset was kept.</summary>
    public bool Subsampled { get; init; }

    /// <summary>
    /// Cuts tiles from <paramref name="scene"/> as <paramref name="options"/> say, through a
    /// <see cref="ReflectanceReader"/>: no-data and non-finite pixels become 0 and count towards the tile's
    /// no-data fraction. Reads one tile window at a time.
    /// </summary>
    public static TileSet FromScene(HyperspectralScene scene, TilingOptions options)
    {
        int tileSize = options.TileSize, stride = options.EffectiveStride;
        if (scene.Lines < tileSize || scene.Samples < tileSize)
            throw new InvalidSettingException(scene.Path, $"is {scene.Lines}×{scene.Samples} pixels, smaller than one {tileSize}×{tileSize} tile. Use a smaller tile size.") { Settings = ["TileSize"] };
        var reader = new ReflectanceReader(scene, options);
        int pixels = tileSize * tileSize;
        var origins = new List<(int Row, int Col)>();
        for (int r = 0; r + tileSize <= scene.Lines; r += stride)
            for (int c = 0; c + tileSize <= scene.Samples; c += stride) origins.Add((r, c));
        long tileBytes = (long)reader.Bands * pixels * sizeof(float);
        int fit = (int)Math.Min(int.MaxValue, Math.Max(1, ((long)options.MemoryBudgetMiB << 20) / tileBytes));
        bool subsampled = origins.Count > fit;
        if (subsampled)
        {
            // An evenly spread subset: every k-th position from a seeded offset keeps the whole scene represented.
            double step = origins.Count / (double)fit;
            double offset = new Random(Seeds.Derive(origins.Count, fit, 4)).NextDouble() * step;
            origins = Enumerable.Range(0, fit).Select(i => origins[(int)Math.Min(origins.Count - 1, offset + i * step)]).ToList();
        }
        var tiles = new List<Tile>();
        var invalid = new bool[pixels];
        foreach (var (r, c) in origins)
        {
            var values = new float[reader.Bands * pixels];
            int bad = reader.Read(r, c, tileSize, tileSize, values, invalid);
            if (bad > options.MaxNoDataFraction * pixels) continue;
            tiles.Add(new Tile(scene.Path, r, c, values, bad > 0 ? (bool[])invalid.Clone() : null));
        }
        return new TileSet { Tiles = tiles, TileSize = tileSize, Bands = reader.Bands, Spectral = reader.Spectral, Subsampled = subsampled };
    }

    /// <summary>
    /// Tiles every scene in <paramref name="paths"/> (which must end up with the same bands) into one set.
    /// </summary>
    public static TileSet FromScenes(IEnumerable<string> paths, TilingOptions options)
    {
        var all = new List<Tile>();
        bool subsampled = false;
        TileSet? first = null;
        string? firstPath = null;
        foreach (var path in paths)
        {
            using var scene = HyperspectralScene.Open(path);
            var set = FromScene(scene, options);
            if (first is not null && set.Bands != first.Bands)
                throw new BandMismatchException(path, $"has {set.Bands} usable bands but {firstPath} has {first.Bands}; use scenes with the same bands, or resample them to one band set.");
            (first, firstPath) = (first ?? set, firstPath ?? path);
            subsampled |= set.Subsampled;
            all.AddRange(set.Tiles);
        }
        if (first is null) throw new InvalidSettingException("No scenes were given.");
        return new TileSet { Tiles = all, TileSize = first.TileSize, Bands = first.Bands, Spectral = first.Spectral, Subsampled = subsampled };
    }

    /// <summary>
    /// The tiles of <paramref name="sets"/> merged into one set per band set (same centres and widths; sets without a band
    /// description by band count), in order of first appearance. Empty sets are dropped.
    /// </summary>
    public static IReadOnlyList<TileSet> Merge(IEnumerable<TileSet> sets) =>
        sets.Where(s => s.Tiles.Count > 0)
            .GroupBy(s => s.Spectral?.Key ?? $"{s.Bands} bands")
            .Select(g => new TileSet
            {
                Tiles = g.SelectMany(s => s.Tiles).ToList(), TileSize = g.First().TileSize, Bands = g.First().Bands,
                Spectral = g.First().Spectral, Subsampled = g.Any(s => s.Subsampled),
            })
            .ToList();

    /// <summary>This set's tiles followed by <paramref name="other"/>'s (same tile size and bands).</summary>
    public TileSet Concat(TileSet other) => With([.. Tiles, .. other.Tiles]);

    /// <summary>
    /// Splits by spatial blocks at the row boundary that leaves <paramref name="validationFraction"/> of the
    /// scene's rows below it: tiles wholly above go to training, tiles starting at or below go to validation,
    /// and tiles straddling the boundary are dropped, so no validation pixel sits inside a training tile.
    /// </summary>
    public (TileSet Train, TileSet Validation) SplitByRows(int sceneLines, double validationFraction)
    {
        var (train, validation, _) = SplitByRows(sceneLines, validationFraction, 0);
        return (train, validation);
    }

    /// <summary>
    /// Three spatial blocks of rows, top to bottom: training, validation (<paramref name="validationFraction"/> of the
    /// rows) and test (<paramref name="testFraction"/>, the bottom). A tile belongs to a block only when it lies
    /// wholly inside it; tiles across a boundary are dropped, so no pixel of one block sits inside another's tile.
    /// </summary>
    public (TileSet Train, TileSet Validation, TileSet Test) SplitByRows(int sceneLines, double validationFraction, double testFraction)
    {
        if (validationFraction < 0 || testFraction < 0 || validationFraction + testFraction >= 1)
            throw new ArgumentException("the validation and test fractions must be non-negative and leave rows for training");
        int testStart = (int)Math.Round(sceneLines * (1 - testFraction));
        int validationStart = (int)Math.Round(sceneLines * (1 - testFraction - validationFraction));
        bool Inside(Tile t, int from, int to) => t.Row >= from && t.Row + TileSize <= to;
        return (With(Tiles.Where(t => Inside(t, 0, validationStart)).ToList()),
                With(Tiles.Where(t => Inside(t, validationStart, testFraction > 0 ? testStart : int.MaxValue)).ToList()),
                With(Tiles.Where(t => testFraction > 0 && Inside(t, testStart, int.MaxValue)).ToList()));
    }

    /// <summary>
    /// Tile origins along one axis that cover <paramref name="size"/> pixels, every <paramref name="stride"/> pixels (default:
    /// a tile, edge to edge without overlap), plus a last tile aligned to the border so it stays inside the scene.
    /// </summary>
    public static IEnumerable<int> CoveringOrigins(int size, int tile, int? stride = null)
    {
        int step = stride ?? tile, last = -1;
        for (int o = 0; o + tile <= size; o += step) yield return last = o;
        if (last + tile < size) yield return size - tile;
    }

    /// <summary>A set with the same shape and wavelengths holding <paramref name="tiles"/>.</summary>
    public TileSet With(IReadOnlyList<Tile> tiles) => new() { Tiles = tiles, TileSize = TileSize, Bands = Bands, Spectral = Spectral, Subsampled = Subsampled };

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
