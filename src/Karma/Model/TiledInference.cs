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
    /// invalid pixels are not masked (see <see cref="ReflectanceCube.MaskInvalid"/>).
    /// </summary>
    public static float[] Run(KarmaModel model, ReflectanceCube cube, int channels, Func<Tensor, Tensor> head, int mostPerBatch = 16)
    {
        var cfg = model.Config;
        if (!cfg.ByWavelength && cube.Bands != cfg.Bands) throw new KarmaException($"The scene has {cube.Bands} bands after band selection but the model {cfg.Bands}.");
        int t = cfg.TileSize, plane = t * t, pixels = cube.Rows * cube.Cols;
        // As many tiles as the forward pass fits in, but their output (copied once to the host) stays under 256 MiB:
        // 512 features per pixel of a 224² tile are 100 MiB each.
        int batch = Math.Min(MemoryEstimate.InferenceBatch(cfg, model.ParameterCount, mostPerBatch),
                             (int)Math.Max(1, (256L << 20) / ((long)channels * plane * sizeof(float))));
        var result = new float[channels * pixels];
        model.eval();
        using var _ = no_grad();
        foreach (var chunk in cube.CoveringTiles(t).Chunk(batch))
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
                for (int k = 0; k < channels; k++)
                    for (int y = 0; y < t; y++)
                        Array.Copy(values, ((i * channels + k) * t + y) * t, result, k * pixels + (r + y) * cube.Cols + c, t);
            }
        }
        return result;
    }
}
