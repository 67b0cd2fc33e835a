using Karma.Model;
using Karma.Unmixing;
using static TorchSharp.torch;

namespace Karma.Evaluation;

/// <summary>
/// A whole scene as the model reconstructs it with nothing masked: tiles cover the scene edge to edge and each
/// pixel takes the pixel head's prediction, [band][row][col] in reflectance. The difference to the input is where
/// the model's picture of the data breaks down (unusual materials, clouds, stripes).
/// </summary>
public static class SceneReconstruction
{
    /// <summary>The reconstruction of <paramref name="cube"/>; invalid pixels hold NaN.</summary>
    public static float[] Reconstruct(KarmaModel model, ReflectanceCube cube)
    {
        var cfg = model.Config;
        if (cube.Bands != cfg.Bands) throw new KarmaException($"The scene has {cube.Bands} bands but the model {cfg.Bands}.");
        int t = cfg.TileSize, pixels = cube.Rows * cube.Cols;
        var result = new float[cube.Bands * pixels];
        model.eval();
        using var _ = no_grad();
        foreach (var (r, c, tile) in cube.CoveringTiles(t))
        {
            using var scope = NewDisposeScope();
            var input = tensor(tile, 1, cube.Bands, t, t).to(model.Device);
            using var output = model.call(input, TokenMasking.None(1, cfg.Tokens, model.Device));
            var values = Patches.Unpatchify(output.Reconstruction, cfg.PatchSize, cfg.Bands).cpu().contiguous().data<float>().ToArray();
            for (int b = 0; b < cube.Bands; b++)
                for (int y = 0; y < t; y++)
                    Array.Copy(values, (b * t + y) * t, result, (b * cube.Rows + r + y) * cube.Cols + c, t);
        }
        for (int p = 0; p < pixels; p++)
            if (cube.Invalid[p]) for (int b = 0; b < cube.Bands; b++) result[b * pixels + p] = float.NaN;
        return result;
    }
}
