using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Karma.Model;

/// <summary>
/// Every pixel's spectrum projected onto the endmembers, Aᵀy: [..., bands] × [bands, M] → [..., M], as one autograd
/// node. The physics term needs it for every pixel of the batch: a matmul with a pixel-long M dimension, 218 bands
/// and only M columns. Through <c>matmul</c>'s own backward the endmembers' gradient is Yᵀ·G on the transposed
/// pixel-long operand; here it is (Gᵀ·Y)ᵀ, the form BLAS runs fastest for this shape (measured in docs/performance.md).
/// </summary>
public sealed class EndmemberProjection : SingleTensorFunction<EndmemberProjection>
{
    /// <inheritdoc/>
    public override string Name => nameof(EndmemberProjection);

    /// <summary>
    /// Aᵀy of every spectrum in <paramref name="spectra"/> ([..., bands]) for <paramref name="endmembers"/> A ([bands, M]).
    /// The spectra are data here; spectra that need a gradient themselves go through a plain matmul.
    /// </summary>
    public static Tensor Of(Tensor spectra, Tensor endmembers) =>
        spectra.requires_grad ? spectra.matmul(endmembers) : apply(spectra, endmembers);

    /// <inheritdoc/>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        // No dispose scope: saved tensors must outlive forward; the caller's scope disposes them.
        var (spectra, endmembers) = ((Tensor)vars[0], (Tensor)vars[1]);
        var rows = spectra.reshape(-1, spectra.shape[^1]);
        ctx.save_for_backward([rows]);
        return rows.mm(endmembers).view([.. spectra.shape[..^1], endmembers.shape[1]]);
    }

    /// <inheritdoc/>
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad)
    {
        using var scope = NewDisposeScope();
        var rows = ctx.get_saved_variables()[0];                             // [pixels, bands]
        var g = grad.reshape(-1, grad.shape[^1]);                            // [pixels, M]
        return [null!, g.t().mm(rows).t().MoveToOuterDisposeScope()];
    }
}
