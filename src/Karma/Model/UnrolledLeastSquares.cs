using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Karma.Model;

/// <summary>
/// K unrolled FISTA steps of fully constrained least squares (<see cref="Simplex.LeastSquares"/>) as one autograd node, for
/// float32 CPU tensors with few endmembers. Composed from libtorch operations, each step is a dozen tiny kernels on
/// [..., M] tensors with M ≈ 5, forward and backward, and five steps cost as much as the rest of a tiny-preset training
/// step (docs/performance.md). Here forward runs every pixel's K steps in plain C# and keeps, per step, the point the
/// gradient was taken at (z_k), the projection's support and the momentum β_k; backward walks the steps in reverse:
/// <list type="bullet">
/// <item>x_{k+1} = Π(s_k): the projection's Jacobian on the support S is I − 1·1ᵀ/|S| (zero off S), so g_s is g minus its
///   mean over S, on S;</item>
/// <item>s_k = z_k − η(z_k·G − p): g_z = g_s·(I − η·Gᵀ), g_p += η·g_s, and g_G = −η·Σ_k z_kᵀ·g_s (one matmul over all
///   pixels and steps);</item>
/// <item>z_{k+1} = x_{k+1} + β_k(x_{k+1} − x_k): β_k and the restarts are constants, as in the composed graph, where they
///   are computed without gradient.</item>
/// </list>
/// Both paths agree in value and gradient (tested); the step size η = 1/λmax(G) is a constant in both.
/// </summary>
public sealed class UnrolledLeastSquares : SingleTensorFunction<UnrolledLeastSquares>
{
    /// <inheritdoc/>
    public override string Name => nameof(UnrolledLeastSquares);

    /// <summary>Whether the fused node handles these operands: float32 CPU tensors of one shape [..., M] with M ≤ 64, and a [M, M] Gram matrix.</summary>
    public static bool Handles(Tensor start, Tensor gram, Tensor projection) =>
        start.device_type == DeviceType.CPU && start.dtype == ScalarType.Float32 && projection.dtype == ScalarType.Float32
        && gram.dtype == ScalarType.Float32 && gram.device_type == DeviceType.CPU && projection.device_type == DeviceType.CPU
        && start.shape.SequenceEqual(projection.shape) && start.shape[^1] <= 64
        && gram.dim() == 2 && gram.shape[0] == start.shape[^1] && gram.shape[1] == start.shape[^1];

    /// <summary>
    /// <paramref name="steps"/> steps of size <paramref name="eta"/> from <paramref name="start"/>; see <see cref="Simplex.LeastSquares"/>.
    /// Vectors whose flag in <paramref name="active"/> (float, 1 = solve; each flag covering an equal run of consecutive
    /// vectors, e.g. a token's P² pixels) is 0 are returned as they are, with their gradient passed straight through.
    /// </summary>
    public static Tensor Of(Tensor start, Tensor gram, Tensor projection, int steps, double eta, Tensor? active = null)
    {
        using var flags = active is null ? ones(1) : active.to_type(ScalarType.Float32).contiguous();
        return apply(start, gram, projection, steps, eta, flags.data<float>().ToArray());
    }

    /// <inheritdoc/>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        // No dispose scope: saved tensors must outlive forward; the caller's scope disposes them.
        var start = ((Tensor)vars[0]).contiguous();
        var gram = ((Tensor)vars[1]).contiguous();
        var projection = ((Tensor)vars[2]).contiguous();
        int steps = (int)vars[3];
        float eta = (float)(double)vars[4];
        var active = (float[])vars[5];
        int m = (int)start.shape[^1];
        long vectors = start.numel() / Math.Max(1, m), perFlag = vectors / active.Length;
        var result = empty_like(start);
        var points = empty(steps, vectors, m);              // z_k, where step k takes its gradient
        var support = empty(steps, vectors, m);             // 1 where step k's projection left the entry positive
        var momentum = empty(steps, vectors);               // β_k
        var g = gram.data<float>().ToArray();
        var (pa, pp, pr) = (CpuKernels.Address(start), CpuKernels.Address(projection), CpuKernels.Address(result));
        var (pz, ps, pb) = (CpuKernels.Address(points), CpuKernels.Address(support), CpuKernels.Address(momentum));
        CpuKernels.ForEachPixel(vectors, i =>
        {
            if (active[i / perFlag] != 0) Forward(pa, pp, pr, pz, ps, pb, g, i, vectors, m, steps, eta);
            else Inactive(pa, pr, pz, ps, i, vectors, m, steps);
        });
        ctx.save_for_backward([gram, points, support, momentum]);
        ctx.save_data(nameof(eta), eta);
        ctx.save_data(nameof(active), active);
        return result;
    }

    /// <inheritdoc/>
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad)
    {
        var saved = ctx.get_saved_variables();
        var (gram, points, support, momentum) = (saved[0], saved[1], saved[2], saved[3]);
        float eta = (float)ctx.get_data(nameof(eta));
        var active = (float[])ctx.get_data("active");
        int steps = (int)points.shape[0], m = (int)points.shape[2];
        long vectors = points.shape[1];
        using var gradOut = grad.contiguous();
        var gradStart = empty_like(gradOut);
        var gradProjection = empty_like(gradOut);
        using var stepGrads = empty(steps, vectors, m);          // g_s of every step, for G's gradient
        var g = gram.data<float>().ToArray();
        var (pg, pa, pp, pgs) = (CpuKernels.Address(gradOut), CpuKernels.Address(gradStart), CpuKernels.Address(gradProjection), CpuKernels.Address(stepGrads));
        var (ps, pb) = (CpuKernels.Address(support), CpuKernels.Address(momentum));
        long perFlag = vectors / active.Length;
        CpuKernels.ForEachPixel(vectors, i =>
        {
            if (active[i / perFlag] != 0) Backward(pg, pa, pp, pgs, ps, pb, g, i, vectors, m, steps, eta);
            else PassThrough(pg, pa, pp, pgs, i, vectors, m, steps);
        });
        // g_G = −η Σ_k z_kᵀ g_s,k over every pixel and step
        using var z = points.view(-1, m);
        using var gs = stepGrads.view(-1, m);
        using var zt = z.t();
        var gradGram = zt.mm(gs).mul_(-eta);                    // mul_ returns the same tensor: not disposed here
        foreach (var tensor in saved) tensor.Dispose();
        return [gradStart, gradGram, gradProjection, null!, null!, null!];   // none for steps, η and the flags
    }

    static unsafe void Forward(nint start, nint projection, nint result, nint points, nint support, nint momentum, float[] g,
                               long i, long vectors, int m, int steps, float eta)
    {
        var b = new ReadOnlySpan<float>((float*)projection + i * m, m);
        Span<float> x = stackalloc float[m], z = stackalloc float[m], s = stackalloc float[m], next = stackalloc float[m];
        new ReadOnlySpan<float>((float*)start + i * m, m).CopyTo(x);
        x.CopyTo(z);
        float t = 1;
        for (int k = 0; k < steps; k++)
        {
            long at = (k * vectors + i) * m;
            z.CopyTo(new Span<float>((float*)points + at, m));
            for (int j = 0; j < m; j++)
            {
                float gradient = -b[j];
                for (int l = 0; l < m; l++) gradient += z[l] * g[l * m + j];
                s[j] = z[j] - eta * gradient;
            }
            SimplexProjection.Project(s, next, new Span<float>((float*)support + at, m));
            float uphill = 0;
            for (int j = 0; j < m; j++) uphill += (z[j] - next[j]) * (next[j] - x[j]);
            if (uphill > 0) t = 1;
            float tNext = (1 + MathF.Sqrt(1 + 4 * t * t)) / 2, beta = uphill > 0 ? 0 : (t - 1) / tNext;
            ((float*)momentum)[k * vectors + i] = beta;
            for (int j = 0; j < m; j++) { z[j] = next[j] + beta * (next[j] - x[j]); x[j] = next[j]; }
            t = tNext;
        }
        x.CopyTo(new Span<float>((float*)result + i * m, m));
    }

    /// <summary>An inactive vector: returned as it is; zero points and steps, so it adds nothing to G's gradient.</summary>
    static unsafe void Inactive(nint start, nint result, nint points, nint support, long i, long vectors, int m, int steps)
    {
        new ReadOnlySpan<float>((float*)start + i * m, m).CopyTo(new Span<float>((float*)result + i * m, m));
        for (int k = 0; k < steps; k++)
        {
            long at = (k * vectors + i) * m;
            new Span<float>((float*)points + at, m).Clear();
            new Span<float>((float*)support + at, m).Clear();
        }
    }

    static unsafe void PassThrough(nint gradOut, nint gradStart, nint gradProjection, nint stepGrads, long i, long vectors, int m, int steps)
    {
        new ReadOnlySpan<float>((float*)gradOut + i * m, m).CopyTo(new Span<float>((float*)gradStart + i * m, m));
        new Span<float>((float*)gradProjection + i * m, m).Clear();
        for (int k = 0; k < steps; k++) new Span<float>((float*)stepGrads + (k * vectors + i) * m, m).Clear();
    }

    static unsafe void Backward(nint gradOut, nint gradStart, nint gradProjection, nint stepGrads, nint support, nint momentum, float[] g,
                                long i, long vectors, int m, int steps, float eta)
    {
        Span<float> gx = stackalloc float[m], gz = stackalloc float[m], gs = stackalloc float[m], gp = stackalloc float[m];
        new ReadOnlySpan<float>((float*)gradOut + i * m, m).CopyTo(gx);   // ∂L/∂x_K; nothing uses z_K
        gz.Clear();
        gp.Clear();
        for (int k = steps - 1; k >= 0; k--)
        {
            long at = (k * vectors + i) * m;
            float beta = ((float*)momentum)[k * vectors + i];
            var onSupport = new ReadOnlySpan<float>((float*)support + at, m);
            // z_{k+1} = (1 + β_k)·x_{k+1} − β_k·x_k: finish x_{k+1}'s gradient, start x_k's
            float mean = 0, count = 0;
            for (int j = 0; j < m; j++)
            {
                float total = gx[j] + (1 + beta) * gz[j];
                gx[j] = -beta * gz[j];
                gs[j] = total * onSupport[j];
                mean += gs[j];
                count += onSupport[j];
            }
            mean /= Math.Max(count, 1);
            for (int j = 0; j < m; j++) gs[j] = (gs[j] - mean) * onSupport[j];
            gs.CopyTo(new Span<float>((float*)stepGrads + at, m));
            // s_k = z_k − η(z_k·G − p)
            for (int l = 0; l < m; l++)
            {
                float sum = 0;
                for (int j = 0; j < m; j++) sum += g[l * m + j] * gs[j];
                gz[l] = gs[l] - eta * sum;
                gp[l] += eta * gs[l];
            }
        }
        var a = new Span<float>((float*)gradStart + i * m, m);
        for (int j = 0; j < m; j++) a[j] = gx[j] + gz[j];                  // x_0 = z_0 = start
        gp.CopyTo(new Span<float>((float*)gradProjection + i * m, m));
    }
}
