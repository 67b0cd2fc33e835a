using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Karma.Model;

/// <summary>
/// K unrolled FISTA steps of fully constrained least squares (<see cref="Simplex.LeastSquares"/>) as one autograd node, for
/// float32 CPU tensors with few endmembers. Composed from libtorch operations, each step is a dozen tiny kernels on
/// [..., M] tensors with M ≈ 5, forward and backward, and five steps cost as much as the rest of a tiny-preset training
/// step (docs/performance.md). Here forward runs every active pixel's K steps in plain C#, a SIMD vector's width of pixels
/// at once (one lane each), and keeps, per step, the point the gradient was taken at (z_k), the projection's support and
/// the momentum β_k; backward walks the steps in reverse:
/// <list type="bullet">
/// <item>x_{k+1} = Π(s_k): the projection's Jacobian on the support S is I − 1·1ᵀ/|S| (zero off S), so g_s is g minus its
///   mean over S, on S;</item>
/// <item>s_k = z_k − η(z_k·G − p): g_z = g_s·(I − η·Gᵀ), g_p += η·g_s, and g_G = −η·Σ_k z_kᵀ·g_s (summed lane by lane in the
///   same pass, over all pixels and steps);</item>
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
    public static Tensor Of(Tensor start, Tensor gram, Tensor projection, int steps, double eta, Tensor? active = null) =>
        apply(start, gram, projection, steps, eta, Simplex.ActiveFlags(active));

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
        var lanes = Lanes.Of(active, start.numel() / Math.Max(1, m));
        var result = start.clone();                                       // inactive vectors stay as they are
        var points = empty(steps, lanes.Groups, m, Lanes.Width);          // z_k, where step k takes its gradient
        var support = empty(steps, lanes.Groups, m, Lanes.Width);         // 1 where step k's projection left the entry positive
        var momentum = empty(steps, lanes.Groups, Lanes.Width);           // β_k
        var g = gram.data<float>().ToArray();
        var (pa, pp, pr) = (CpuKernels.Address(start), CpuKernels.Address(projection), CpuKernels.Address(result));
        var (pz, ps, pb) = (CpuKernels.Address(points), CpuKernels.Address(support), CpuKernels.Address(momentum));
        CpuKernels.ForEachPixel(lanes.Groups, group => Forward(lanes, group, pa, pp, pr, pz, ps, pb, g, m, steps, eta));
        ctx.save_for_backward([gram, points, support, momentum]);
        ctx.save_data(nameof(eta), eta);
        ctx.save_data(nameof(lanes), lanes);
        return result;
    }

    /// <inheritdoc/>
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad)
    {
        var saved = ctx.get_saved_variables();
        var (gram, points, support, momentum) = (saved[0], saved[1], saved[2], saved[3]);
        float eta = (float)ctx.get_data(nameof(eta));
        var lanes = (Lanes)ctx.get_data("lanes");
        int steps = (int)points.shape[0], m = (int)points.shape[2];
        using var gradOut = grad.contiguous();
        var gradStart = gradOut.clone();                                  // passed straight through for inactive vectors
        var gradProjection = zeros_like(gradOut);
        var g = gram.data<float>().ToArray();
        var (pg, pa, pp) = (CpuKernels.Address(gradOut), CpuKernels.Address(gradStart), CpuKernels.Address(gradProjection));
        var (pz, ps, pb) = (CpuKernels.Address(points), CpuKernels.Address(support), CpuKernels.Address(momentum));
        // g_G = −η Σ_k z_kᵀ g_s,k over every pixel and step, summed lane by lane in each block and then over blocks
        // (padding lanes have g_s = 0 and add nothing).
        var partial = new float[CpuKernels.FixedBlocks(lanes.Groups, 64), m * m];
        CpuKernels.ForEachFixedBlock(lanes.Groups, 64, (block, from, to) =>
        {
            Span<Vector<float>> sums = stackalloc Vector<float>[m * m];
            sums.Clear();
            for (long group = from; group < to; group++) Backward(lanes, group, pg, pa, pp, pz, ps, pb, g, m, steps, eta, sums);
            for (int i = 0; i < m * m; i++) partial[block, i] = Vector.Sum(sums[i]);
        });
        var gramGradient = new float[m * m];
        for (int block = 0; block < partial.GetLength(0); block++)
            for (int i = 0; i < m * m; i++) gramGradient[i] -= eta * partial[block, i];
        var gradGram = tensor(gramGradient, [m, m]);
        foreach (var tensor in saved) tensor.Dispose();
        return [gradStart, gradGram, gradProjection, null!, null!, null!];   // none for steps, η and the flags
    }

    /// <summary>
    /// The active vectors in groups of <see cref="Width"/>, one per SIMD lane: the kernels run a group's vectors side by
    /// side, each endmember's values of the group in one <see cref="Vector{T}"/>. The last group is padded with lanes
    /// that read zeros and write nothing.
    /// </summary>
    sealed class Lanes(long[] vectors)
    {
        public static readonly int Width = Vector<float>.Count;
        public readonly long[] Vectors = vectors;
        public long Groups => (Vectors.Length + Width - 1) / Width;

        /// <summary>The vectors whose flag is non-zero, each flag covering an equal run of <paramref name="count"/>'s vectors.</summary>
        public static Lanes Of(float[] active, long count)
        {
            long perFlag = Simplex.VectorsPerFlag(active, count);
            var chosen = new List<long>();
            for (long i = 0; i < count; i++) if (active[i / perFlag] != 0) chosen.Add(i);
            return new Lanes([.. chosen]);
        }

        /// <summary>Loads the group's vectors of a [vectors, M] array into M lane vectors (zeros in padding lanes).</summary>
        public unsafe void Load(long group, float* source, int m, Span<Vector<float>> into)
        {
            Span<float> lanes = stackalloc float[Width];
            for (int j = 0; j < m; j++)
            {
                for (int w = 0; w < Width; w++)
                {
                    long at = group * Width + w;
                    lanes[w] = at < Vectors.Length ? source[Vectors[at] * m + j] : 0;
                }
                into[j] = new Vector<float>(lanes);
            }
        }

        /// <summary>Stores M lane vectors into the group's vectors of a [vectors, M] array (padding lanes skipped).</summary>
        public unsafe void Store(long group, ReadOnlySpan<Vector<float>> values, int m, float* target)
        {
            for (int w = 0; w < Width; w++)
            {
                long at = group * Width + w;
                if (at >= Vectors.Length) return;
                for (int j = 0; j < m; j++) target[Vectors[at] * m + j] = values[j][w];
            }
        }
    }

    static unsafe void Forward(Lanes lanes, long group, nint start, nint projection, nint result, nint points, nint support, nint momentum,
                               float[] g, int m, int steps, float eta)
    {
        int width = Lanes.Width;
        Span<Vector<float>> x = stackalloc Vector<float>[m], z = stackalloc Vector<float>[m], b = stackalloc Vector<float>[m],
                            s = stackalloc Vector<float>[m], next = stackalloc Vector<float>[m];
        lanes.Load(group, (float*)start, m, x);
        lanes.Load(group, (float*)projection, m, b);
        x.CopyTo(z);
        Vector<float> one = Vector<float>.One, t = one, etaV = new(eta);
        for (int k = 0; k < steps; k++)
        {
            float* savedZ = (float*)points + (k * lanes.Groups + group) * m * width;
            float* savedS = (float*)support + (k * lanes.Groups + group) * m * width;
            for (int j = 0; j < m; j++)
            {
                z[j].Store(savedZ + j * width);
                var gradient = -b[j];
                for (int l = 0; l < m; l++) gradient += z[l] * new Vector<float>(g[l * m + j]);
                s[j] = z[j] - etaV * gradient;
            }
            // The projection's threshold θ = max over j of (Σ_{s_i ≥ s_j} s_i − 1) / #{s_i ≥ s_j}: the sorted prefix means
            // rise while the next value lies above them and fall after, so their peak is the sort-based rule's threshold,
            // found here without a sort and without branches, lane by lane.
            var theta = new Vector<float>(float.NegativeInfinity);
            for (int j = 0; j < m; j++)
            {
                Vector<float> sum = Vector<float>.Zero, count = Vector<float>.Zero;
                for (int i = 0; i < m; i++)
                {
                    var inPrefix = Vector.GreaterThanOrEqual(s[i], s[j]);
                    sum += Vector.ConditionalSelect(inPrefix, s[i], Vector<float>.Zero);
                    count += Vector.ConditionalSelect(inPrefix, one, Vector<float>.Zero);
                }
                theta = Vector.Max(theta, (sum - one) / count);
            }
            var uphill = Vector<float>.Zero;
            for (int j = 0; j < m; j++)
            {
                var shifted = s[j] - theta;
                next[j] = Vector.Max(shifted, Vector<float>.Zero);
                Vector.ConditionalSelect(Vector.GreaterThan(shifted, Vector<float>.Zero), one, Vector<float>.Zero).Store(savedS + j * width);
                uphill += (z[j] - next[j]) * (next[j] - x[j]);
            }
            var restart = Vector.GreaterThan(uphill, Vector<float>.Zero);  // momentum would point uphill: restart it
            t = Vector.ConditionalSelect(restart, one, t);
            var tNext = (one + Vector.SquareRoot(one + new Vector<float>(4) * t * t)) / new Vector<float>(2);
            var beta = Vector.ConditionalSelect(restart, Vector<float>.Zero, (t - one) / tNext);
            beta.Store((float*)momentum + (k * lanes.Groups + group) * width);
            for (int j = 0; j < m; j++) { z[j] = next[j] + beta * (next[j] - x[j]); x[j] = next[j]; }
            t = tNext;
        }
        lanes.Store(group, x, m, (float*)result);
    }

    /// <summary>One group's backward; adds the group's Σ_k z_kᵀ·g_s,k to <paramref name="gramSums"/> ([M·M], lane by lane).</summary>
    static unsafe void Backward(Lanes lanes, long group, nint gradOut, nint gradStart, nint gradProjection, nint points, nint support, nint momentum,
                                float[] g, int m, int steps, float eta, Span<Vector<float>> gramSums)
    {
        int width = Lanes.Width;
        Span<Vector<float>> gx = stackalloc Vector<float>[m], gz = stackalloc Vector<float>[m], gs = stackalloc Vector<float>[m],
                            gp = stackalloc Vector<float>[m];
        lanes.Load(group, (float*)gradOut, m, gx);                        // ∂L/∂x_K (zero in padding lanes); nothing uses z_K
        gz.Clear();
        gp.Clear();
        Vector<float> one = Vector<float>.One, etaV = new(eta);
        for (int k = steps - 1; k >= 0; k--)
        {
            float* onSupport = (float*)support + (k * lanes.Groups + group) * m * width;
            float* savedZ = (float*)points + (k * lanes.Groups + group) * m * width;
            var beta = Vector.Load((float*)momentum + (k * lanes.Groups + group) * width);
            // z_{k+1} = (1 + β_k)·x_{k+1} − β_k·x_k: finish x_{k+1}'s gradient, start x_k's; then the projection's Jacobian
            Vector<float> sum = Vector<float>.Zero, count = Vector<float>.Zero;
            for (int j = 0; j < m; j++)
            {
                var total = gx[j] + (one + beta) * gz[j];
                gx[j] = -beta * gz[j];
                var inSupport = Vector.Load(onSupport + j * width);
                gs[j] = total * inSupport;
                sum += gs[j];
                count += inSupport;
            }
            var mean = sum / Vector.Max(count, one);
            for (int j = 0; j < m; j++) gs[j] = (gs[j] - mean) * Vector.Load(onSupport + j * width);
            for (int l = 0; l < m; l++)
            {
                var z = Vector.Load(savedZ + l * width);
                for (int j = 0; j < m; j++) gramSums[l * m + j] += z * gs[j];
            }
            // s_k = z_k − η(z_k·G − p)
            for (int l = 0; l < m; l++)
            {
                var product = Vector<float>.Zero;
                for (int j = 0; j < m; j++) product += new Vector<float>(g[l * m + j]) * gs[j];
                gz[l] = gs[l] - etaV * product;
                gp[l] += etaV * gs[l];
            }
        }
        for (int j = 0; j < m; j++) gx[j] += gz[j];                        // x_0 = z_0 = start
        lanes.Store(group, gx, m, (float*)gradStart);
        lanes.Store(group, gp, m, (float*)gradProjection);
    }
}
