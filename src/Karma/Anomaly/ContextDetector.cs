using Karma.Data;
using Karma.Model;
using static TorchSharp.torch;

namespace Karma.Anomaly;

/// <summary>Per-pixel anomaly scores of a model ([row·col] each; invalid pixels NaN).</summary>
/// <param name="Context">RX of the context residual: the Mahalanobis distance of (pixel − the model's prediction of it while its patch was hidden) under the residuals' own covariance.</param>
/// <param name="Physics">RX of the physics residual y − A·â with nothing hidden (null without the branch).</param>
/// <param name="Combined">The sum of both scores' robust z-values (median and MAD): the <c>karma</c> detector.</param>
public sealed record ModelAnomalyScores(float[] Context, float[]? Physics, float[] Combined);

/// <summary>
/// Anomaly detection by what a pretrained model cannot predict. Every tile is run through four complementary masks
/// (<see cref="TokenMasking.Lattice"/>) over half-overlapping tiles of the scene mirrored at its borders (each pixel kept
/// from the tile it is most central in), so each pixel is reconstructed once from context on every side while hidden, and once more
/// with nothing hidden for the physics branch, whose abundances are solved against the pixel. What is left — the
/// residual spectra — is scored by RX (<see cref="RxDetector.Global"/>): the model has taken the scene's predictable
/// structure away, and the residuals' covariance weighs each band by how well the model usually predicts it, so a
/// residual is large only where the pixel is unlike what its surroundings and the endmembers explain. The two scores are
/// put on one scale by robust z-values and added.
/// </summary>
public static class ContextDetector
{
    /// <summary>Scores every pixel of <paramref name="cube"/> (read for <paramref name="model"/>).</summary>
    public static ModelAnomalyScores Score(KarmaModel model, ReflectanceCube cube)
    {
        bool physics = model.Physics is not null;
        int c = cube.Bands, pixels = cube.Rows * cube.Cols;
        var residuals = TiledInference.Run(model, cube, physics ? 2 * c : c, images => Head(model, images, cube.Spectral), centred: true);
        var context = RxDetector.Global(cube with { Values = residuals[..(c * pixels)] });
        var residual = physics ? RxDetector.Global(cube with { Values = residuals[(c * pixels)..] }) : null;
        var combined = RobustZ(context);
        if (residual is not null)
        {
            var z = RobustZ(residual);
            for (int p = 0; p < pixels; p++) combined[p] += z[p];
        }
        return new ModelAnomalyScores(context, residual, combined);
    }

    /// <summary>Tiles [B, bands, T, T] → residuals [B, bands (·2 with the branch), T, T]: context prediction, then physics.</summary>
    static Tensor Head(KarmaModel model, Tensor images, SpectralBands? bands)
    {
        var cfg = model.Config;
        long b = images.shape[0], c = images.shape[1];
        int p = cfg.PatchSize, g = cfg.GridSize, t = cfg.TileSize;
        var predicted = zeros_like(images);
        foreach (var masking in TokenMasking.Lattice(b, g, images.device))
        {
            using var output = model.call(images, bands, masking);
            var hidden = masking.Mask.view(b, g, 1, g, 1).expand(b, g, p, g, p).reshape(b, 1, t, t);
            predicted += hidden * Patches.Unpatchify(output.Reconstruction, p, (int)c);
        }
        var context = images - predicted;
        if (model.Physics is null) return context;
        using var whole = model.call(images, bands, TokenMasking.None(b, cfg.Tokens, images.device));
        return cat([context, images - Patches.Unpatchify(whole.PhysicsReconstruction!, p, (int)c)], 1);
    }
    /// <summary>(x − median) / (1.4826 · MAD) over the finite values; NaN stays NaN.</summary>
    public static float[] RobustZ(float[] values)
    {
        var finite = values.Where(float.IsFinite).Select(v => (double)v).Order().ToArray();
        if (finite.Length == 0) return values.ToArray();
        double median = Median(finite);
        double mad = Median(finite.Select(v => Math.Abs(v - median)).Order().ToArray()) * 1.4826;
        if (!(mad > 0)) mad = finite.Length > 1 ? Math.Max(finite[^1] - finite[0], 1e-12) : 1;
        return values.Select(v => float.IsFinite(v) ? (float)((v - median) / mad) : float.NaN).ToArray();
    }

    static double Median(double[] sorted) => sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}
