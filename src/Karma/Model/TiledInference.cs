using Karma.Data;
using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// Runs a per-pixel head of a model over a whole scene: the tiles covering the cube edge to edge (the last row and
/// column aligned to the border) go through the model in batches, as many as fit in half the free memory, and each
/// tile's [channels][T][T] output is written to its place in a [channel][row][col] array; where tiles overlap the
/// later one wins. Reconstruction, unmixing, feature extraction and segmentation all read a scene this way.
/// </summary>
public static class TiledInference
{
    /// <summary>
    /// The output of <paramref name="head"/> ([B, bands, T, T] on the model's device → [B, <paramref name="channels"/>, T, T])
    /// for every pixel of <paramref name="cube"/>, [channel][row][col]. Runs under no_grad with the model in eval mode;
    /// invalid pixels are not masked (see <see cref="ReflectanceCube.MaskInvalid"/>). With <paramref name="centred"/> the
    /// tiles overlap by half and each pixel takes its value from the tile in whose central half it lies (the scene's own
    /// borders excepted, which are mirrored outwards by a quarter tile first): what a pixel's context gives is then never
    /// cut off by a tile edge, at about four times the tiles.
    /// </summary>
    public static float[] Run(KarmaModel model, ReflectanceCube cube, int channels, Func<Tensor, Tensor> head, int mostPerBatch = 16, bool centred = false)
    {
        int pad = model.Config.TileSize / 4;
        if (!centred || pad == 0 || pad >= cube.Rows || pad >= cube.Cols) return Covering(model, cube, channels, head, mostPerBatch, centred);
        var padded = Covering(model, cube.Mirror(pad), channels, head, mostPerBatch, central: true);
        return Crop(padded, channels, cube.Rows + 2 * pad, cube.Cols + 2 * pad, pad, cube.Rows, cube.Cols);
    }

    static float[] Crop(float[] planes, int channels, int rows, int cols, int pad, int keepRows, int keepCols)
    {
        var result = new float[channels * keepRows * keepCols];
        for (int k = 0; k < channels; k++)
            for (int r = 0; r < keepRows; r++)
                Array.Copy(planes, (k * rows + r + pad) * cols + pad, result, (k * keepRows + r) * keepCols, keepCols);
        return result;
    }

    /// <summary>The tiles covering <paramref name="cube"/> (half-overlapping, each writing its central half, when <paramref name="central"/>).</summary>
    static float[] Covering(KarmaModel model, ReflectanceCube cube, int channels, Func<Tensor, Tensor> head, int mostPerBatch, bool central)
    {
        var cfg = model.Config;
        if (!cfg.ByWavelength && cube.Bands != cfg.Bands) throw new BandMismatchException($"The scene has {cube.Bands} bands after band selection but the model {cfg.Bands}.");
        int t = cfg.TileSize, plane = t * t, pixels = cube.Rows * cube.Cols;
        // As many tiles as the forward pass fits in, but their output (copied once to the host) stays under 256 MiB:
        // 512 features per pixel of a 224² tile are 100 MiB each.
        int batch = Math.Min(MemoryEstimate.InferenceBatch(cfg, model.ParameterCount, mostPerBatch),
                             (int)Math.Max(1, (256L << 20) / ((long)channels * plane * sizeof(float))));
        var result = new float[channels * pixels];
        model.eval();
        using var _ = no_grad();
        var tiles = central ? cube.CoveringTiles(t, Math.Max(1, t / 2)) : cube.CoveringTiles(t);
        foreach (var chunk in tiles.Chunk(batch))
        {
            using var scope = NewDisposeScope();
            var input = TileBatch.Stack(chunk.Select(tile => tile.Values).ToList(), cube.Bands, t);
            var output = head(input.to(model.Device));
            if (!output.shape.SequenceEqual([chunk.Length, channels, t, t]))
                throw new ArgumentException($"The head returned [{string.Join(", ", output.shape)}], not [{chunk.Length}, {channels}, {t}, {t}].", nameof(head));
            var values = output.cpu().contiguous().data<float>().ToArray();
            for (int i = 0; i < chunk.Length; i++)
            {
                var (r, c, _) = chunk[i];
                // The part of the tile this one writes: all of it, or its central half away from the scene's borders.
                int y0 = central && r > 0 ? t / 4 : 0, y1 = central && r + t < cube.Rows ? t - t / 4 : t;
                int x0 = central && c > 0 ? t / 4 : 0, x1 = central && c + t < cube.Cols ? t - t / 4 : t;
                for (int k = 0; k < channels; k++)
                    for (int y = y0; y < y1; y++)
                        Array.Copy(values, ((i * channels + k) * t + y) * t + x0, result, k * pixels + (r + y) * cube.Cols + c + x0, x1 - x0);
            }
        }
        return result;
    }
}
