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
    /// <summary>The nearest point of the simplex to every vector along the last dimension of <paramref name="v"/> (<see cref="SimplexProjection"/>).</summary>
    public static Tensor Project(Tensor v) => SimplexProjection.Of(v);

    /// <summary>The same projection from tensor operations, for every device and type.</summary>
    public static Tensor ProjectComposed(Tensor v)
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
    /// endmember sets (similar spectra) converging. With <paramref name="active"/> (a leading part of start's shape, e.g.
    /// [B, N] for [B, N, P², M]; non-zero = solve) only those vectors are solved and the rest returned as they are, so the
    /// masked patches of a training batch cost nothing.
    /// </summary>
    public static Tensor LeastSquares(Tensor start, Tensor gram, Tensor projection, int steps, Tensor? active = null)
    {
        bool graph = is_grad_enabled() && (start.requires_grad || gram.requires_grad || projection.requires_grad);
        if (!graph && start.device_type == TorchSharp.DeviceType.CPU) return LeastSquaresOnCpu(start, gram, projection, steps, active);
        if (UnrolledLeastSquares.Handles(start, gram, projection)) return UnrolledLeastSquares.Of(start, gram, projection, steps, StepSize(gram), active);
        return LeastSquaresComposed(start, gram, projection, steps, active);
    }

    /// <summary>The same unrolled steps from tensor operations, for every device and type (what <see cref="UnrolledLeastSquares"/> fuses).</summary>
    public static Tensor LeastSquaresComposed(Tensor start, Tensor gram, Tensor projection, int steps, Tensor? active = null)
    {
        using var scope = NewDisposeScope();
        double eta = StepSize(gram);
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
        if (active is not null) x = where(active.view([.. active.shape, .. Enumerable.Repeat(1L, (int)(start.dim() - active.dim()))]) != 0, x, start);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>The active flags as floats (one flag, set, when there is no mask).</summary>
    internal static float[] ActiveFlags(Tensor? active)
    {
        if (active is null) return [1];
        using var flags = active.to_type(ScalarType.Float32).contiguous();
        return flags.data<float>().ToArray();
    }

    /// <summary>How many consecutive vectors each flag covers; refuses flags that do not divide the vectors into equal runs.</summary>
    internal static long VectorsPerFlag(float[] flags, long vectors)
    {
        if (flags.Length == 0 || vectors % flags.Length != 0)
            throw new ArgumentException($"{flags.Length} active flags do not divide {vectors} vectors into equal runs.", nameof(flags));
        return Math.Max(1, vectors / flags.Length);
    }

    /// <summary>FISTA's step 1/λmax(G), a constant of the graph (computed without gradient).</summary>
    static double StepSize(Tensor gram)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return 1 / Math.Max(linalg.eigvalsh(gram.detach().to_type(ScalarType.Float64)).max().item<double>(), 1e-12);
    }

    /// <summary>
    /// The same iteration for every vector at once in plain C# (no autograd graph to keep), each vector stopping once a step
    /// moves it by less than 1e-9: libtorch's element-wise operations on [..., M] tensors with M ≈ 5 cost more in dispatch than
    /// in arithmetic, and inference runs hundreds of steps.
    /// </summary>
    static unsafe Tensor LeastSquaresOnCpu(Tensor start, Tensor gram, Tensor projection, int steps, Tensor? active)
    {
        using var a0 = start.to_type(ScalarType.Float32).contiguous();
        using var p = projection.to_type(ScalarType.Float32).contiguous();
        using var g64 = gram.to_type(ScalarType.Float64).contiguous();
        int m = (int)start.shape[^1];
        var g = g64.data<double>().ToArray();
        double eta = StepSize(g64);
        var result = empty_like(a0);
        var (pa, pp, pr) = (CpuKernels.Address(a0), CpuKernels.Address(p), CpuKernels.Address(result));
        long vectors = a0.numel() / m;
        var flags = ActiveFlags(active);
        long perFlag = VectorsPerFlag(flags, vectors);
        CpuKernels.ForEachPixel(vectors, i =>
        {
            var x = new Span<float>((float*)pr + i * m, m);
            new ReadOnlySpan<float>((float*)pa + i * m, m).CopyTo(x);
            if (flags[i / perFlag] == 0) return;
            var b = new ReadOnlySpan<float>((float*)pp + i * m, m);
            Span<double> z = stackalloc double[m], next = stackalloc double[m], step = stackalloc double[m], xd = stackalloc double[m];
            for (int j = 0; j < m; j++) z[j] = xd[j] = x[j];
            double t = 1;
            for (int k = 0; k < steps; k++)
            {
                for (int j = 0; j < m; j++)
                {
                    double gradient = -b[j];
                    for (int l = 0; l < m; l++) gradient += z[l] * g[l * m + j];
                    step[j] = z[j] - eta * gradient;
                }
                ProjectInPlace(step, next);
                double uphill = 0, change = 0;
                for (int j = 0; j < m; j++)
                {
                    uphill += (z[j] - next[j]) * (next[j] - xd[j]);
                    change = Math.Max(change, Math.Abs(next[j] - xd[j]));
                }
                if (change < 1e-9 && k > 0) { next.CopyTo(xd); break; }   // converged: a fixed point of the projected step
                if (uphill > 0) t = 1;
                double tNext = (1 + Math.Sqrt(1 + 4 * t * t)) / 2, beta = uphill > 0 ? 0 : (t - 1) / tNext;
                for (int j = 0; j < m; j++) { z[j] = next[j] + beta * (next[j] - xd[j]); xd[j] = next[j]; }
                t = tNext;
            }
            for (int j = 0; j < m; j++) x[j] = (float)xd[j];
        });
        return result.to_type(start.dtype);
    }

    static void ProjectInPlace(ReadOnlySpan<double> v, Span<double> w)
    {
        int m = v.Length;
        Span<double> sorted = stackalloc double[m];
        v.CopyTo(sorted);
        sorted.Sort();
        sorted.Reverse();
        double cumulative = 0, theta = 0;
        for (int k = 0; k < m; k++)
        {
            cumulative += sorted[k];
            double t = (cumulative - 1) / (k + 1);
            if (sorted[k] - t > 0) theta = t;
        }
        for (int j = 0; j < m; j++) w[j] = Math.Max(v[j] - theta, 0);
    }
}
