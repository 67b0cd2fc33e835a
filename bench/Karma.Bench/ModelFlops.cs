using Karma.Model;

namespace Karma.Bench;

/// <summary>
/// Floating-point operations of one training step of a fixed-band model, counted from the architecture: 2·in·out per
/// token for every linear layer, 4·n²·d per attention (scores and weighted sum), and each layer's backward as its
/// weight gradient plus, where its input needs one, its input gradient (each as many operations as the forward); the
/// layers that read the data (the patch embedding, the physics branch's pixel head and Aᵀy) need no input gradient.
/// Elementwise work (norms, GELU, softmax, losses) is left out, as MFU figures usually do.
/// <para>
/// <see cref="PhysicsBranch"/> counts the branch alone, as the model runs it, per training step: the abundance head on
/// every patch, the pixel head on the visible patches' pixels, Aᵀy of every pixel it reads and the unrolled FCLS steps.
/// Against the plain MAE's step it is the arithmetic floor of KARMA's overhead: what the branch would cost if it ran
/// as efficiently as the rest of the step. Its skinny products (M ≈ 5 columns) run well below that.
/// </para>
/// </summary>
static class ModelFlops
{
    /// <summary>A whole training step of <paramref name="batch"/> tiles: the MAE's layers and, for variants with one, the physics branch.</summary>
    public static double TrainingStep(KarmaConfig c, int batch) => Backbone(c, batch) + (c.HasPhysicsBranch ? PhysicsBranch(c, batch) : 0);

    /// <summary>The encoder, decoder and pixel head of a step, forward and backward (what a plain MAE pays).</summary>
    public static double Backbone(KarmaConfig c, int batch)
    {
        double n = c.Tokens, visible = c.VisibleTokens, v = c.PatchValues, d = c.EncoderDim, dd = c.DecoderDim;
        double Block(double tokens, double dim) => tokens * (2 * dim * 3 * dim + 2 * dim * dim + 2 * 2 * dim * c.MlpRatio * dim) + 4 * tokens * tokens * dim;
        double forward = c.EncoderDepth * Block(visible, d)
                         + 2 * visible * d * dd                       // decoder embedding
                         + c.DecoderDepth * Block(n, dd)
                         + 2 * n * dd * v;                            // pixel head
        double embedding = 2 * visible * v * d;                       // only the visible patches are embedded; no input gradient
        return batch * (3 * forward + 2 * embedding);
    }

    /// <summary>
    /// The physics branch of a step, forward and backward, averaged over the steps when it runs in one of every
    /// <see cref="KarmaConfig.PhysicsEvery"/> and counted on the patches it reads (<see cref="KarmaConfig.PhysicsShare"/>).
    /// </summary>
    public static double PhysicsBranch(KarmaConfig c, int batch)
    {
        if (!c.HasPhysicsBranch) return 0;
        double dd = c.DecoderDim, m = c.Endmembers, pixels = c.PatchSize * c.PatchSize;
        double perToken = c.PerPixelAbundances ? pixels : 1;
        // The patches read: all, or the model's share of the visible and of the masked (the same count at share 1).
        var (visible, masked) = KarmaModel.PhysicsSample(c, c.VisibleTokens);
        double read = visible + masked;
        double head = 3 * read * (2 * dd * (dd / 2) + 2 * (dd / 2) * perToken * m);
        double hidden = LinearMixingBranch.PixelHeadWidth(c.Endmembers), spectrum = c.PixelChannels;
        double pixelHead = c.AbundanceFromSpectrum && c.PerPixelAbundances
            ? visible * pixels * (2 * 2 * spectrum * hidden + 3 * 2 * hidden * m)
            : 0;
        double projection = 2 * 2 * read * pixels * c.Bands * m;      // Aᵀy forward, and A's gradient from it
        double steps = c.PerPixelAbundances ? 3 * c.AbundanceRefinementSteps * visible * pixels * 2 * m * m : 0;
        return batch * (head + pixelHead + projection + steps) / c.PhysicsEvery;
    }
}
