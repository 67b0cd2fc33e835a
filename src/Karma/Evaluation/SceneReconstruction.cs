using Karma.Data;
using Karma.Model;

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
        return cube.MaskInvalid(TiledInference.Run(model, cube, cube.Bands, images =>
        {
            using var output = model.call(images, cube.Spectral, TokenMasking.None(images.shape[0], cfg.Tokens, model.Device));
            return Patches.Unpatchify(output.Reconstruction, cfg.PatchSize, cube.Bands);
        }));
    }
}
