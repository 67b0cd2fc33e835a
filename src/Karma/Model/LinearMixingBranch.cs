using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Karma.Model;

/// <summary>
/// The physics branch of KARMA, built on the linear spectral mixing model r = A·a: an abundance head
/// (MLP D→D/2→M, softmax, so abundances are ≥ 0 and sum to 1 by construction) and an endmember matrix
/// A (bands × M) whose columns are endmember spectra. A is stored as unconstrained values passed through
/// softplus, which keeps every spectrum non-negative while its gradient never vanishes the way a clamp's
/// does. Abundances are predicted per patch (the paper) or per pixel (P²·M values per token).
/// A fixed-band model keeps A at its bands; a wavelength-aware one keeps the endmember spectra on the fine grid
/// (<see cref="SpectralGrid"/>) and forms each band set's A through that set's spectral response, so an abundance means
/// the same material on every sensor.
/// Two options make per-pixel abundances agree with the data they explain (see the README's unmixing section):
/// <list type="bullet">
/// <item>the pixel's own spectral features as a second input to the abundance head, for the pixels the encoder saw (a
///   masked pixel's abundances still come from context alone);</item>
/// <item>a few unrolled FISTA steps of fully constrained least squares on those visible pixels
///   (<see cref="Simplex.LeastSquares"/>), starting from the head's estimate: the abundances then solve the linear mixing
///   model for the branch's endmembers instead of approximating it, and gradients flow through the steps to A and the head.</item>
/// </list>
/// </summary>
public sealed class LinearMixingBranch : Module<MixingInput, MixingOutput>
{
    readonly Sequential abundanceHead;
    readonly Sequential? pixelHead;
    readonly Parameter endmemberLogits;
    readonly int pixelsPerPatch, endmembers, abundancesPerToken, refinementSteps;

    /// <summary>
    /// Creates the branch; the endmember spectra (<paramref name="bands"/> values each: the model's bands, or the grid's
    /// points) start at random reflectance-like values in [0.05, 0.6]. <paramref name="pixelFeatures"/> &gt; 0 adds the
    /// pixel's own spectral features (that many) to the head's input; <paramref name="refinementSteps"/> &gt; 0 refines
    /// visible pixels' abundances by that many FISTA steps. Both need per-pixel abundances.
    /// </summary>
    public LinearMixingBranch(string name, int decoderDim, int bands, int endmembers, int patchSize, bool perPixel, bool learnEndmembers,
                              int pixelFeatures = 0, int refinementSteps = 0)
        : base(name)
    {
        this.endmembers = endmembers;
        pixelsPerPatch = patchSize * patchSize;
        abundancesPerToken = perPixel ? pixelsPerPatch : 1;
        this.refinementSteps = perPixel ? refinementSteps : 0;
        abundanceHead = Sequential(
            ("fc1", Linear(decoderDim, decoderDim / 2)),
            ("gelu", GELU()),
            ("fc2", Linear(decoderDim / 2, abundancesPerToken * endmembers)));
        if (perPixel && pixelFeatures > 0)
            pixelHead = Sequential(("fc1", Linear(pixelFeatures, PixelHeadWidth(endmembers))), ("gelu", GELU()), ("fc2", Linear(PixelHeadWidth(endmembers), endmembers)));
        using var initial = rand(bands, endmembers) * 0.55 + 0.05;
        endmemberLogits = new Parameter(InverseSoftplus(initial), requires_grad: learnEndmembers);
        RegisterComponents();
    }

    /// <summary>Hidden units of the pixel head for M endmembers: 2M + 16.</summary>
    internal static int PixelHeadWidth(int endmembers) => 2 * endmembers + 16;

    /// <summary>FISTA steps for visible pixels outside training (when refinement is on): enough to converge where the unrolled training steps stop short.</summary>
    public int InferenceSteps { get; set; } = 300;

    /// <summary>
    /// The endmember spectra as stored, [bands or grid points, M] (non-negative); with a grid <paramref name="response"/>
    /// ([bands, grid]) the matrix A those spectra give at the response's bands.
    /// </summary>
    public Tensor Endmembers(Tensor? response = null)
    {
        if (response is null) return functional.softplus(endmemberLogits);
        using var spectra = functional.softplus(endmemberLogits);
        return response.matmul(spectra);
    }

    /// <summary>Whether A is trained.</summary>
    public bool LearnsEndmembers => endmemberLogits.requires_grad;

    /// <summary>Replaces the stored spectra ([bands or grid points, M], reflectance), e.g. from a library or VCA; optionally freezes them.</summary>
    public void SetEndmembers(Tensor spectra, bool learnable)
    {
        if (spectra.shape[0] != endmemberLogits.shape[0] || spectra.shape[1] != endmembers)
            throw new BandMismatchException($"Endmember spectra must be [{endmemberLogits.shape[0]} bands, {endmembers} endmembers]; got [{string.Join(", ", spectra.shape)}].");
        using (no_grad())
        {
            using var logits = InverseSoftplus(spectra.to(endmemberLogits.dtype));
            endmemberLogits.copy_(logits);
        }
        endmemberLogits.requires_grad = learnable;
    }

    /// <summary>
    /// decoderTokens [B, N, D] → abundances [B, N, k, M] (k = P² per pixel, 1 per patch) and the endmember
    /// spectra A [bands, M] they mix (through the grid response when the input has one), both in the autograd graph. The mixed spectra themselves are formed only when
    /// asked for (<see cref="Mix"/>): the loss does not need them (<see cref="MeanSquaredError"/>).
    /// </summary>
    public override MixingOutput forward(MixingInput input)
    {
        using var scope = NewDisposeScope();
        var decoderTokens = input.Decoder;
        long b = decoderTokens.shape[0], n = decoderTokens.shape[1];
        var logits = abundanceHead.call(decoderTokens).view(b, n, abundancesPerToken, endmembers);
        if (pixelHead is not null && input.Features is { } features) logits = logits + PixelLogits(features, input.VisibleTokens, b, n);
        // Softmax over M through a transposed view: libtorch's softmax along a last dimension of only M = 8 is much slower
        // than along a middle one whose inner dimension (the P² pixels) it can vectorise over (docs/performance.md).
        var abundances = logits.transpose(2, 3).softmax(2).transpose(2, 3);
        var spectra = Endmembers(input.Response);
        Tensor? projection = null;
        if (refinementSteps > 0 && input.Pixels is { } pixels && input.Visible is { } visible)
        {
            // Training unrolls the configured steps; inference has no graph to keep and runs on towards convergence.
            // Only visible patches are solved: the others keep the head's estimate, so masked pixels cost nothing here.
            int steps = training ? refinementSteps : Math.Max(refinementSteps, InferenceSteps);
            projection = EndmemberProjection.Of(pixels, spectra);                                    // Aᵀy, [B, N, P², M]
            abundances = Simplex.LeastSquares(abundances, spectra.t().matmul(spectra), projection, steps, active: visible);
            projection.MoveToOuterDisposeScope();
        }
        return new(abundances.MoveToOuterDisposeScope(), spectra.MoveToOuterDisposeScope(), projection);
    }

    /// <summary>
    /// The pixel head's logits [B, N, P², M] from the spectral features of the visible tokens' pixels [B, V, P², F]
    /// (<paramref name="visibleTokens"/> [B, V] says which tokens they are): a masked token's pixels get the head's output
    /// for zero features, the same for all of them. Without token indices the features are the first V tokens', in order.
    /// </summary>
    Tensor PixelLogits(Tensor features, Tensor? visibleTokens, long b, long n)
    {
        long v = features.shape[1], pixels = features.shape[2], f = features.shape[3];
        if (visibleTokens is null && v == n) return pixelHead!.call(features);
        var atZero = pixelHead!.call(zeros(1, 1, 1, f, dtype: features.dtype, device: features.device)); // [1, 1, 1, M]
        if (visibleTokens is null) return cat([pixelHead.call(features), atZero.expand(b, n - v, pixels, endmembers)], 1);
        return TokenMasking.Put(atZero.expand(b, n, pixels, endmembers), visibleTokens, pixelHead.call(features));
    }

    /// <summary>The mixed spectra A·a of every pixel in token layout, [B, N, P²·bands], from abundances [B, N, k, M].</summary>
    public static Tensor Mix(Tensor abundances, Tensor endmembers, int pixelsPerPatch)
    {
        using var scope = NewDisposeScope();
        long b = abundances.shape[0], n = abundances.shape[1];
        var mixed = abundances.matmul(endmembers.t());                    // [B, N, k, bands]
        if (abundances.shape[2] == 1) mixed = mixed.expand(b, n, pixelsPerPatch, endmembers.shape[0]);
        return mixed.reshape(b, n, -1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The mean over bands of (A·a − y)² for every pixel, [B, N, P²], without forming A·a:
    /// ‖A·a − y‖² = aᵀ(AᵀA)a − 2·aᵀ(Aᵀy) + ‖y‖², where only Aᵀy (<see cref="EndmemberProjection"/>) reads the full-size targets
    /// <paramref name="targetPixels"/> ([B, N, P², bands]; not read, and may be null, when the projection is given); their energy ‖y‖² ([B, N, P²]) comes from
    /// <see cref="PixelLoss"/>, which reads them anyway; Aᵀy itself is taken from <paramref name="projection"/> when the branch
    /// already formed it for these targets. Forward and backward write nothing of the targets' size; in
    /// float32 the result differs from the direct form by rounding only (tested).
    /// </summary>
    public static Tensor MeanSquaredError(Tensor abundances, Tensor endmembers, Tensor? targetPixels, Tensor targetEnergy, Tensor? projection = null)
    {
        using var scope = NewDisposeScope();
        var projected = projection ?? EndmemberProjection.Of(targetPixels ?? throw new ArgumentNullException(nameof(targetPixels), "Give the target pixels or their projection."),
                                                             endmembers);                  // Aᵀy per pixel, [B, N, P², M]
        var gram = endmembers.t().matmul(endmembers);                      // [M, M]
        // aᵀGa − 2aᵀ(Aᵀy) as one product aᵀ(Ga − 2Aᵀy), summed over M ([B, N, P²]; k = 1 broadcasts over the pixels)
        var mixedTerms = ((abundances.matmul(gram) - 2 * projected) * abundances).sum(-1);
        return ((mixedTerms + targetEnergy) / endmembers.shape[0]).MoveToOuterDisposeScope();
    }

    /// <summary>softplus⁻¹(y) = log(eˠ − 1), computed stably; y is clamped to ≥ 1e-4 first.</summary>
    static Tensor InverseSoftplus(Tensor y)
    {
        using var c = y.clamp_min(1e-4);
        return c + (-c).expm1().neg().log();
    }
}

/// <summary>
/// What the physics branch reads for one batch: the decoder's tokens [B, N, D]; for a wavelength-aware model the band set's
/// grid response [bands, grid]; and, for the options that use the pixels themselves, the visible tokens' pixels' spectral
/// features [B, V, P², F] (in the order of their indices [B, V]; without indices, the first V tokens', in order), each
/// pixel's reflectance [B, N, P², bands] and which patches were visible [B, N].
/// </summary>
public sealed record MixingInput(Tensor Decoder, Tensor? Response = null, Tensor? Features = null, Tensor? Pixels = null, Tensor? Visible = null,
                                 Tensor? VisibleTokens = null);

/// <summary>
/// What the physics branch gives: abundances [B, N, k, M], the endmember spectra A [bands, M] they mix, and, when the
/// pixels were read, their projection Aᵀy [B, N, P², M], which the physics term reuses instead of computing it again.
/// </summary>
public sealed record MixingOutput(Tensor Abundances, Tensor Endmembers, Tensor? Projection);
