using Karma.Data;
using Karma.Model;
using static TorchSharp.torch;

namespace Karma.Anomaly;

/// <summary>Per-pixel anomaly scores of a model ([row·col] each; invalid pixels NaN).</summary>
/// <param name="Karma">The <c>karma</c> detector: the sum of the robust z-values of global and local RX of the physics residual y − A·â (of the context residual for a model without the branch); the global one alone where a pixel's ring has too few valid neighbours.</param>
/// <param name="Context">Global RX of the context residual: the Mahalanobis distance of (pixel − the model's prediction of it while its patch was hidden) under the residuals' own covariance; null when not asked for (<see cref="AnomalyOptions.Context"/>).</param>
/// <param name="Physics">Global RX of the physics residual with nothing hidden (null without the branch).</param>
/// <param name="PhysicsLocal">Dual-window local RX of the physics residual (null without the branch).</param>
public sealed record ModelAnomalyScores(float[] Karma, float[]? Context, float[]? Physics, float[]? PhysicsLocal);

/// <summary>
/// Anomaly detection by what a pretrained model cannot explain. Every tile is run through four complementary masks
/// (<see cref="TokenMasking.Lattice"/>) over half-overlapping tiles of the scene mirrored at its borders (each pixel kept
/// from the tile it is most central in), so each pixel is reconstructed once from context on every side while hidden, and once more
/// with nothing hidden for the physics branch, whose abundances are solved against the pixel. What is left — the
/// residual spectra — is scored by RX: the model has taken the scene's predictable structure away, and the residuals'
/// covariance weighs each band by how well the model usually explains it.
/// <para>
/// The <c>karma</c> score adds two views of the physics residual, each as a robust z-value (median and MAD): global RX
/// (<see cref="RxDetector.Global"/>: unlike the whole scene) and dual-window local RX (<see cref="RxDetector.Local"/>:
/// unlike its ring of neighbours). Local RX finds a target among a different background; it goes blind where targets
/// crowd into each other's rings, which global RX does not. The sum was chosen among six ways of scoring these residuals
/// by mean ROC AUC on synthetic targets implanted, sparse and crowded, into five scenes that are not the anomaly benchmark
/// (<see cref="AnomalyImplant"/>; README, "Anomaly detection"). Global RX of the context residual is reported beside it.
/// </para>
/// </summary>
public static class ContextDetector
{
    /// <summary>
    /// Scores every pixel of <paramref name="cube"/> (read for <paramref name="model"/>); <paramref name="options"/> sets
    /// the local RX windows and whether the context residual is computed (four of the five passes; the karma score of a
    /// model with the physics branch does not need it).
    /// </summary>
    public static ModelAnomalyScores Score(KarmaModel model, ReflectanceCube cube, AnomalyOptions? options = null)
    {
        options ??= new AnomalyOptions();
        options.Validate();
        bool physics = model.Physics is not null, withContext = options.Context || !physics;
        int c = cube.Bands, pixels = cube.Rows * cube.Cols;
        int channels = (withContext ? c : 0) + (physics ? c : 0);
        var residuals = TiledInference.Run(model, cube, channels, images => Head(model, images, cube.Spectral, withContext), centred: true);
        var contextCube = withContext ? cube with { Values = residuals[..(c * pixels)] } : null;
        var scored = physics ? cube with { Values = residuals[(withContext ? c * pixels : 0)..] } : contextCube!;
        var context = contextCube is null ? null : RxDetector.Global(contextCube);
        var global = physics ? RxDetector.Global(scored) : context!;
        var local = RxDetector.Local(scored, options.InnerWindow, options.OuterWindow, options.Components);
        var zGlobal = RobustZ(global);
        var zLocal = RobustZ(local);
        var karma = new float[pixels];
        // A valid pixel whose ring holds fewer than two valid neighbours has no local score; it keeps its global one.
        for (int p = 0; p < pixels; p++) karma[p] = float.IsNaN(zLocal[p]) ? zGlobal[p] : zGlobal[p] + zLocal[p];
        return new ModelAnomalyScores(karma, context, physics ? global : null, physics ? local : null);
    }

    /// <summary>Tiles [B, bands, T, T] → residuals [B, bands per residual, T, T]: the context residual (when asked), then the physics residual (with the branch).</summary>
    static Tensor Head(KarmaModel model, Tensor images, SpectralBands? bands, bool withContext)
    {
        var cfg = model.Config;
        long b = images.shape[0], c = images.shape[1];
        int p = cfg.PatchSize, g = cfg.GridSize, t = cfg.TileSize;
        var parts = new List<Tensor>();
        if (withContext)
        {
            var predicted = zeros_like(images);
            foreach (var masking in TokenMasking.Lattice(b, g, images.device))
            {
                using var output = model.call(images, bands, masking);
                var hidden = masking.Mask.view(b, g, 1, g, 1).expand(b, g, p, g, p).reshape(b, 1, t, t);
                predicted += hidden * Patches.Unpatchify(output.Reconstruction, p, (int)c);
            }
            parts.Add(images - predicted);
        }
        if (model.Physics is not null)
        {
            using var whole = model.call(images, bands, TokenMasking.None(b, cfg.Tokens, images.device));
            parts.Add(images - Patches.Unpatchify(whole.PhysicsReconstruction!, p, (int)c));
        }
        return parts.Count == 1 ? parts[0] : cat(parts, 1);
    }
    /// <summary>(x − median) / (1.4826 · MAD) over the finite values, so scores of different scales add; NaN stays NaN.</summary>
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
