using Karma.Model;
using static TorchSharp.torch;

namespace Karma.Evaluation;

/// <summary>
/// The non-learned floor every masked autoencoder must beat: each masked pixel is filled by inverse-square-distance
/// weighting of the visible pixels of its tile (tiles up to 64², one dense weight matrix per tile), or, for larger tiles,
/// each masked patch by the same weighting of the visible patches' mean spectra; visible patches are copied as they
/// are. It sees exactly what the model sees, under the same masks (<see cref="ReconstructionMetrics.Evaluate(KarmaConfig, ReconstructionMetrics.Reconstructor, IReadOnlyList{Data.TileSet}, bool, int, int, Device?)"/>).
/// </summary>
public static class InterpolationFloor
{
    /// <summary>The floor's reconstruction [B, N, P²·bands] of <paramref name="images"/> ([B, bands, T, T]) under <paramref name="masking"/>.</summary>
    public static Tensor Reconstruct(Tensor images, TokenMasking masking, int patchSize)
    {
        using var scope = NewDisposeScope();
        long b = images.shape[0], c = images.shape[1], t = images.shape[2];
        int g = (int)(t / patchSize);
        var hiddenTokens = masking.Mask.to_type(ScalarType.Float32);                                   // [B, N]
        Tensor filled;
        if (t <= 64)
        {
            var hidden = hiddenTokens.view(b, g, 1, g, 1).expand(b, g, patchSize, g, patchSize).reshape(b, t * t);   // [B, T²]
            var pixels = images.permute(0, 2, 3, 1).reshape(b, t * t, c);                                          // [B, T², C]
            var distance = InverseSquareDistance((int)t, (int)t);                                                  // [T², T²]
            // One tile at a time: a batch of 64² tiles' weight matrices would take a gigabyte.
            var interpolated = stack(Enumerable.Range(0, (int)b).Select(i =>
            {
                var weights = distance * (1 - hidden[i]).unsqueeze(0);
                return weights.mm(pixels[i]) / weights.sum(-1, keepdim: true).clamp_min(1e-12);
            }).ToArray());
            filled = Patches.Patchify(interpolated.view(b, t, t, c).permute(0, 3, 1, 2), patchSize);
        }
        else
        {
            var tokens = Patches.Patchify(images, patchSize).view(b, g * g, patchSize * patchSize, c);
            var means = tokens.mean([2L]);                                                                            // [B, N, C]
            var weights = InverseSquareDistance(g, g).unsqueeze(0) * (1 - hiddenTokens).unsqueeze(1);            // [B, N, N]
            var interpolated = weights.bmm(means) / weights.sum(-1, keepdim: true).clamp_min(1e-12);
            filled = interpolated.unsqueeze(2).expand(b, g * g, patchSize * patchSize, c).reshape(b, g * g, -1);
        }
        var visible = Patches.Patchify(images, patchSize);
        return where(hiddenTokens.unsqueeze(-1) > 0.5, filled, visible).MoveToOuterDisposeScope();
    }

    /// <summary>1/d² between the cells of an h × w grid, [h·w, h·w], with 0 on the diagonal.</summary>
    static Tensor InverseSquareDistance(int h, int w)
    {
        var y = arange(h, dtype: ScalarType.Float32).repeat_interleave(w);
        var x = arange(w, dtype: ScalarType.Float32).repeat(h);
        var d2 = (y.unsqueeze(1) - y.unsqueeze(0)).square() + (x.unsqueeze(1) - x.unsqueeze(0)).square();
        return where(d2 > 0, 1 / d2, zeros_like(d2));
    }
}
