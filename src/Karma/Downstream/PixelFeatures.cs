using Karma.Data;
using Karma.Model;
using static TorchSharp.torch;

namespace Karma.Downstream;

/// <summary>How a pixel reads its feature from the encoder's one-vector-per-patch grid.</summary>
public enum FeatureReadout
{
    /// <summary>Every pixel takes its own patch's vector: P×P blocks of equal features.</summary>
    Patch,
    /// <summary>
    /// Bilinear interpolation between the vectors of the nearest patch centres: features vary smoothly from pixel to
    /// pixel, so a linear classifier can draw boundaries inside a patch.
    /// </summary>
    Bilinear,
}

/// <summary>
/// Per-pixel features from a pretrained encoder: the scene is covered with tiles, every patch is encoded with
/// nothing masked, and each pixel reads D values from the patch grid (<see cref="FeatureReadout"/>). Returned as
/// [pixel][feature], the layout a probe wants.
/// </summary>
public static class PixelFeatures
{
    /// <summary>Encoder features of every pixel of <paramref name="cube"/>, [rows·cols, D·layers]: the last <paramref name="layers"/> blocks' outputs side by side.</summary>
    public static float[,] Encode(KarmaModel model, ReflectanceCube cube, FeatureReadout readout = FeatureReadout.Bilinear, int layers = 1)
    {
        int d = model.Config.EncoderDim * layers;
        return Transpose(TiledInference.Run(model, cube, d, images => Read(model, images, cube.Spectral, readout, layers)), cube.Rows * cube.Cols, d);
    }

    /// <summary>The decoder's per-pixel features of every pixel (<see cref="KarmaModel.DecoderFeatures"/>), [rows·cols, F].</summary>
    public static float[,] Decoder(KarmaModel model, ReflectanceCube cube)
    {
        int f = model.Config.HeadChannels;
        return Transpose(TiledInference.Run(model, cube, f, images => model.DecoderFeatures(images, cube.Spectral)), cube.Rows * cube.Cols, f);
    }

    /// <summary>The physics branch's abundances of every pixel, [rows·cols, M] (solved against each pixel when the model refines them).</summary>
    public static float[,] Abundances(KarmaModel model, ReflectanceCube cube) =>
        Transpose(TiledInference.Run(model, cube, model.Config.Endmembers, images => model.Abundances(images, cube.Spectral)), cube.Rows * cube.Cols, model.Config.Endmembers);

    /// <summary>[k][pixel] planes → [pixel, k].</summary>
    static float[,] Transpose(float[] planes, int pixels, int k)
    {
        var result = new float[pixels, k];
        for (int j = 0; j < k; j++)
            for (int p = 0; p < pixels; p++) result[p, j] = planes[j * pixels + p];
        return result;
    }

    /// <summary>Tiles [B, bands, T, T] → per-pixel features [B, D·layers, T, T]. Call under no_grad.</summary>
    static Tensor Read(KarmaModel model, Tensor images, SpectralBands? bands, FeatureReadout readout, int layers = 1)
    {
        var cfg = model.Config;
        long b = images.shape[0];
        using var scope = NewDisposeScope();
        var tokens = cat(model.EncodeLayers(images, bands, layers).ToArray(), 2);             // [B, N, D·layers]
        var grid = tokens.reshape(b, cfg.GridSize, cfg.GridSize, tokens.shape[2]).permute(0, 3, 1, 2);
        return (readout == FeatureReadout.Patch
            ? nn.functional.interpolate(grid, [cfg.TileSize, cfg.TileSize], mode: InterpolationMode.Nearest)
            : nn.functional.interpolate(grid, [cfg.TileSize, cfg.TileSize], mode: InterpolationMode.Bilinear, align_corners: false)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Streams the per-pixel encoder features of a whole scene to <paramref name="outputPath"/> (GeoTIFF or ENVI,
    /// one band per feature, georeferencing kept): one tile is read, encoded and written at a time, so memory
    /// stays bounded by a tile whatever the scene's size.
    /// </summary>
    public static void Write(KarmaModel model, HyperspectralScene scene, TilingOptions tiling, string outputPath, FeatureReadout readout = FeatureReadout.Bilinear)
    {
        var cfg = model.Config;
        int t = cfg.TileSize, d = cfg.EncoderDim;
        if (scene.Lines < t || scene.Samples < t) throw new BandMismatchException(scene.Path, $"is smaller than one {t}×{t} tile.");
        var reader = new ReflectanceReader(scene, tiling);
        if (!cfg.ByWavelength && reader.Bands != cfg.Bands) throw new BandMismatchException(scene.Path, $"has {reader.Bands} bands after band selection but the model {cfg.Bands}.");
        var names = Enumerable.Range(1, d).Select(k => $"feature {k}").ToArray();
        using var writer = SceneWriter.Create(outputPath, scene.Lines, scene.Samples, d,
            new SceneMetadata { GeoTransform = scene.Metadata.GeoTransform, CoordinateSystem = scene.Metadata.CoordinateSystem, MapInfo = scene.Metadata.MapInfo, BandNames = names });
        var tile = new float[reader.Bands * t * t];
        var invalid = new bool[t * t];
        model.eval();
        using var _ = no_grad();
        foreach (int r in TileSet.CoveringOrigins(scene.Lines, t))
            foreach (int c in TileSet.CoveringOrigins(scene.Samples, t))
            {
                reader.Read(r, c, t, t, tile, invalid);
                using var scope = NewDisposeScope();
                var block = Read(model, tensor(tile, 1, reader.Bands, t, t).to(model.Device), reader.Spectral, readout).cpu().data<float>().ToArray();
                for (int k = 0; k < d; k++)
                    for (int i = 0; i < t * t; i++)
                        if (invalid[i]) block[k * t * t + i] = float.NaN;
                writer.WriteWindow(r, c, t, t, block);
            }
        writer.Commit();
    }

    /// <summary>The raw spectra of every pixel, [rows·cols, bands]: the baseline every probe is compared with.</summary>
    public static float[,] Spectra(ReflectanceCube cube) => Transpose(cube.Values, cube.Rows * cube.Cols, cube.Bands);
}
