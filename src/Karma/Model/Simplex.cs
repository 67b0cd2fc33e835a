using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// The probability simplex {a : a ≥ 0, Σa = 1}, where abundances of the linear mixing model live: Euclidean projection
/// onto it (sort-based, Duchi et al. 2008, differentiable almost everywhere) and the accelerated projected-gradient
/// solution of min ‖A·a − y‖² over it (FISTA, Beck &amp; Teboulle 2009), which is the fully constrained least-squares
/// (FCLS) problem solved by unrolled steps that gradients can flow through.
/// </summary>
public static class Simplex
{
    /// <summary>The nearest point of the simplex to every vector along the last dimension of <paramref name="v"/>.</summary>
    public static Tensor Project(Tensor v)
    {
        using var scope = NewDisposeScope();
        long m = v.shape[^1];
        var sorted = v.sort(-1, descending: true).Values;
        var cumulative = sorted.cumsum(-1) - 1;
        var k = arange(1, m + 1, dtype: v.dtype, device: v.device);
        // ρ = how many sorted entries stay positive; the condition holds on a prefix, so counting it finds ρ.
        var rho = (sorted - cumulative / k > 0).sum(-1, keepdim: true, type: ScalarType.Int64).clamp_min(1);
        var theta = cumulative.gather(-1, rho - 1) / rho.to_type(v.dtype);
        return (v - theta).clamp_min(0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <paramref name="steps"/> FISTA steps of min ‖A·a − y‖² over the simplex from <paramref name="start"/> ([..., M]), given
    /// the endmembers' Gram matrix G = AᵀA ([M, M]) and each spectrum's projection Aᵀy ([..., M]); step 1/λmax(G), and each
    /// vector's momentum restarts whenever it would point uphill (O'Donoghue &amp; Candès 2015), which keeps ill-conditioned
    /// endmember sets (similar spectra) converging.
    /// </summary>
    public static Tensor LeastSquares(Tensor start, Tensor gram, Tensor projection, int steps)
    {
        using var scope = NewDisposeScope();
        double lipschitz;
        using (no_grad()) lipschitz = linalg.eigvalsh(gram.detach().to_type(ScalarType.Float64)).max().item<double>();
        double eta = 1 / Math.Max(lipschitz, 1e-12);
        Tensor x = start, z = start;
        var t = ones_like(start.narrow(-1, 0, 1));
        for (int k = 0; k < steps; k++)
        {
            var next = Project(z - eta * (z.matmul(gram) - projection));
            Tensor restart;
            using (no_grad()) restart = ((z - next) * (next - x)).sum(-1, keepdim: true) > 0;
            t = where(restart, ones_like(t), t);
            var tNext = (1 + (1 + 4 * t * t).sqrt()) / 2;
            z = next + where(restart, zeros_like(t), (t - 1) / tNext) * (next - x);
            (x, t) = (next, tNext);
        }
        return x.MoveToOuterDisposeScope();
    }
}
