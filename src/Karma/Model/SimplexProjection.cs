using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Karma.Model;

/// <summary>
/// Euclidean projection onto the probability simplex along the last dimension as one autograd node, for the few
/// (M ≤ a few dozen) values of an abundance vector: libtorch's sort, cumulative sums and broadcasts along a last dimension
/// of 5 cost milliseconds per call, and the unrolled FCLS steps call it dozens of times. Forward sorts each vector by
/// insertion and clips at the threshold θ; backward is the projection's Jacobian: on the support S (entries left
/// positive) the gradient minus its mean over S, zero elsewhere. Float32 CPU tensors take this path; others take
/// <see cref="Simplex.ProjectComposed"/>.
/// </summary>
public sealed class SimplexProjection : SingleTensorFunction<SimplexProjection>
{
    /// <inheritdoc/>
    public override string Name => nameof(SimplexProjection);

    /// <summary>The projection of every vector along the last dimension of <paramref name="v"/>.</summary>
    public static Tensor Of(Tensor v) =>
        v.device_type == DeviceType.CPU && v.dtype == ScalarType.Float32 && v.shape[^1] <= 64 ? apply(v) : Simplex.ProjectComposed(v);

    /// <inheritdoc/>
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var v = ((Tensor)vars[0]).contiguous();
        int m = (int)v.shape[^1];
        long vectors = v.numel() / Math.Max(1, m);
        var w = empty_like(v);
        var support = empty_like(v);
        var (pv, pw, ps) = (CpuKernels.Address(v), CpuKernels.Address(w), CpuKernels.Address(support));
        CpuKernels.ForEachPixel(vectors, i => Project(pv, pw, ps, i, m));
        ctx.save_for_backward([support]);
        return w;
    }

    /// <inheritdoc/>
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad)
    {
        using var scope = NewDisposeScope();
        var support = ctx.get_saved_variables()[0];
        var g = grad * support;
        var mean = g.sum(-1, keepdim: true) / support.sum(-1, keepdim: true).clamp_min(1);
        return [((g - mean) * support).MoveToOuterDisposeScope()];
    }

    static unsafe void Project(nint source, nint target, nint support, long vector, int m) =>
        Project(new ReadOnlySpan<float>((float*)source + vector * m, m), new Span<float>((float*)target + vector * m, m),
                new Span<float>((float*)support + vector * m, m));

    /// <summary>Projects <paramref name="v"/> into <paramref name="w"/>, writing 1 to <paramref name="s"/> where the result is positive and 0 elsewhere.</summary>
    internal static void Project(ReadOnlySpan<float> v, Span<float> w, Span<float> s)
    {
        int m = v.Length;
        Span<float> sorted = stackalloc float[m];
        v.CopyTo(sorted);
        for (int i = 1; i < m; i++)                       // insertion sort, descending
        {
            float x = sorted[i];
            int j = i - 1;
            while (j >= 0 && sorted[j] < x) { sorted[j + 1] = sorted[j]; j--; }
            sorted[j + 1] = x;
        }
        double cumulative = 0, theta = 0;
        for (int k = 0; k < m; k++)
        {
            cumulative += sorted[k];
            double t = (cumulative - 1) / (k + 1);
            if (sorted[k] - t > 0) theta = t;               // holds on a prefix: the last one is ρ's threshold
        }
        for (int i = 0; i < m; i++)
        {
            float x = (float)(v[i] - theta);
            w[i] = x > 0 ? x : 0;
            s[i] = x > 0 ? 1 : 0;
        }
    }
}
