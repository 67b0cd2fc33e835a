using Karma.Model;

namespace Karma.Bench;

/// <summary>
/// Floating-point operations of one training step, counted from the architecture: 2·in·out per token for every
/// linear layer, 4·n²·d per attention (scores and weighted sum), and the backward pass at twice the forward.
/// Elementwise work (norms, GELU, softmax, losses) is left out, as MFU figures usually do.
/// </summary>
static class ModelFlops
{
    public static double TrainingStep(KarmaConfig c, int batch) => 3 * Forward(c, c.VisibleTokens) * batch;

    public static double Forward(KarmaConfig c, int encoderTokens)
    {
        double n = c.Tokens, v = c.PatchValues, d = c.EncoderDim, dd = c.DecoderDim;
        double Block(double tokens, double dim) => tokens * (2 * dim * 3 * dim + 2 * dim * dim + 2 * 2 * dim * c.MlpRatio * dim) + 4 * tokens * tokens * dim;
        double flops = 2 * n * v * d                                  // patch embedding (all tokens, then the visible are kept)
                       + c.EncoderDepth * Block(encoderTokens, d)
                       + 2 * encoderTokens * d * dd                   // decoder embedding
                       + c.DecoderDepth * Block(n, dd)
                       + 2 * n * dd * v;                              // pixel head
        if (c.HasPhysicsBranch)
        {
            double perToken = c.PerPixelAbundances ? c.PatchSize * c.PatchSize : 1;
            flops += n * (2 * dd * (dd / 2) + 2 * (dd / 2) * perToken * c.Endmembers + 2 * perToken * c.Endmembers * c.Bands);
        }
        return flops;
    }
}
