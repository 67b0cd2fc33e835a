using Karma.Data;
using Karma.Model;
using Karma.Unmixing;
using static TorchSharp.torch;

namespace Karma.Downstream;

/// <summary>
/// Per-pixel features from a pretrained encoder: the scene is covered with tiles, every patch is encoded with
/// nothing masked, and each pixel takes the feature of its patch (D values). Returned as [pixel][feature].
/// </summary>
public static class PixelFeatures
{
    /// <summary>Encoder features of every pixel of <paramref name="cube"/>, [rows·cols, D].</summary>
    public static float[,] Encode(KarmaModel model, ReflectanceCube cube)
    {
        var cfg = model.Config;
        if (cube.Bands != cfg.Bands) throw new KarmaException($"The scene has {cube.Bands} bands but the model {cfg.Bands}.");
        int t = cfg.TileSize, d = cfg.EncoderDim;
        var features = new float[cube.Rows * cube.Cols, d];
        var block = new float[d * t * t];
        model.eval();
        using var _ = no_grad();
        foreach (var (r, c, tile) in cube.CoveringTiles(t))
        {
            EncodeTile(model, tile, block);
            for (int k = 0; k < d; k++)
                for (int y = 0; y < t; y++)
                    for (int x = 0; x < t; x++) features[(r + y) * cube.Cols + c + x, k] = block[(k * t + y) * t + x];
        }
        return features;
    }

    /// <summary>One tile [bands][T][T] → each pixel's patch feature, [D][T][T]. Call under no_grad.</summary>
    static void EncodeTile(KarmaModel model, float[] tile, float[] block)
    {
        var cfg = model.Config;
        int t = cfg.TileSize, p = cfg.PatchSize, g = cfg.GridSize, d = cfg.EncoderDim;
        using var input = tensor(tile, 1, cfg.Bands, t, t).to(model.Device);
        using var encoded = model.EncodeAll(input).cpu();        // [1, N, D]
        var values = encoded.data<float>().ToArray();
        for (int y = 0; y < t; y++)
            for (int x = 0; x < t; x++)
            {
                int token = y / p * g + x / p;
                for (int k = 0; k < d; k++) block[(k * t + y) * t + x] = values[token * d + k];
            }
    }

    /// <summary>
    /// Streams the per-pixel encoder features of a whole scene to <paramref name="outputPath"/> (GeoTIFF or ENVI,
    /// one band per feature, georeferencing kept): one tile is read, encoded and written at a time, so memory
    /// stays bounded by a tile whatever the scene's size.
    /// </summary>
    public static void Write(KarmaModel model, HyperspectralScene scene, TilingOptions tiling, string outputPath)
    {
        var cfg = model.Config;
        int t = cfg.TileSize, d = cfg.EncoderDim;
        if (scene.Lines < t || scene.Samples < t) throw new KarmaException(scene.Path, $"is smaller than one {t}×{t} tile.");
        var reader = new ReflectanceReader(scene, tiling);
        if (reader.Bands != cfg.Bands) throw new KarmaException(scene.Path, $"has {reader.Bands} bands after band selection but the model {cfg.Bands}.");
        var names = Enumerable.Range(1, d).Select(k => $"feature {k}").ToArray();
        using var writer = SceneWriter.Create(outputPath, scene.Lines, scene.Samples, d,
            new SceneMetadata { GeoTransform = scene.Metadata.GeoTransform, CoordinateSystem = scene.Metadata.CoordinateSystem, MapInfo = scene.Metadata.MapInfo, BandNames = names });
        var tile = new float[reader.Bands * t * t];
        var invalid = new bool[t * t];
        var block = new float[d * t * t];
        model.eval();
        using var _ = no_grad();
        foreach (int r in TileSet.CoveringOrigins(scene.Lines, t))
            foreach (int c in TileSet.CoveringOrigins(scene.Samples, t))
            {
                reader.Read(r, c, t, t, tile, invalid);
                EncodeTile(model, tile, block);
                for (int k = 0; k < d; k++)
                    for (int i = 0; i < t * t; i++)
                        if (invalid[i]) block[k * t * t + i] = float.NaN;
                writer.WriteWindow(r, c, t, t, block);
            }
        writer.Commit();
    }

    /// <summary>The raw spectra of every pixel, [rows·cols, bands]: the baseline every probe is compared with.</summary>
    public static float[,] Spectra(ReflectanceCube cube)
    {
        int pixels = cube.Rows * cube.Cols;
        var result = new float[pixels, cube.Bands];
        for (int b = 0; b < cube.Bands; b++)
            for (int p = 0; p < pixels; p++) result[p, b] = cube.Values[b * pixels + p];
        return result;
    }
}
