using Karma.Model;
using Karma.Runtime;
using Karma.Unmixing;
using static TorchSharp.torch;

namespace Karma.Tests.Model;

public class SimplexTests
{
    public SimplexTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Projection_lands_on_the_simplex_at_the_nearest_point()
    {
        // Hand cases: inside stays, a shifted point loses the shift, a far corner clips.
        var p = Simplex.Project(tensor(new float[,] { { 0.2f, 0.3f, 0.5f }, { 1.2f, 1.3f, 1.5f }, { 5f, -1f, 0f }, { 0.5f, 0.5f, -3f } })).data<float>().ToArray();
        Assert.Equal([0.2f, 0.3f, 0.5f, 0.2f, 0.3f, 0.5f, 1f, 0f, 0f, 0.5f, 0.5f, 0f], p.Select(v => MathF.Round(v, 6)));
        // Random vectors: on the simplex, and no random simplex point is nearer.
        var random = new Random(1);
        using var v = randn(200, 5) * 2;
        var projected = Simplex.Project(v);
        Assert.True(projected.min().item<float>() >= 0);
        Assert.True((projected.sum(-1) - 1).abs().max().item<float>() < 1e-5);
        var distance = (projected - v).square().sum(-1);
        for (int trial = 0; trial < 50; trial++)
        {
            using var other = Simplex.Project(rand(200, 5) * 3 - 1);
            Assert.True(((other - v).square().sum(-1) - distance).min().item<float>() > -1e-5);
        }
    }

    [Fact]
    public void The_projection_kernel_equals_the_composed_form_in_value_and_gradient()
    {
        manual_seed(4);
        var v = (randn(300, 6) * 2).requires_grad_();
        var w = randn(300, 6);
        var kernel = Simplex.Project(v);
        var composed = Simplex.ProjectComposed(v);
        Assert.True((kernel - composed).abs().max().item<float>() < 1e-6);
        var g1 = autograd.grad([(kernel * w).sum()], [v])[0];
        var g2 = autograd.grad([(composed * w).sum()], [v])[0];
        Assert.True((g1 - g2).abs().max().item<float>() < 1e-5);
        // The unrolled (autograd) and the plain C# iteration agree.
        var e = rand(20, 6);
        var p = rand(300, 20).matmul(e);
        var start = Simplex.Project(randn(300, 6));
        var unrolled = Simplex.LeastSquares(start.clone().requires_grad_(), e.t().matmul(e), p, 40);
        Tensor plain;
        using (no_grad()) plain = Simplex.LeastSquares(start, e.t().matmul(e), p, 40);
        Assert.True((unrolled - plain).abs().max().item<float>() < 1e-5);
    }

    [Theory]
    [InlineData(5, 5, 1, false)]
    [InlineData(5, 5, 5, false)]
    [InlineData(6, 31, 12, false)]
    [InlineData(4, 20, 8, true)]      // near-collinear endmembers: momentum restarts happen
    [InlineData(5, 31, 5, false, true)]
    public void The_fused_unrolled_steps_equal_the_composed_graph_in_value_and_gradient(int m, int bands, int steps, bool similar, bool someInactive = false)
    {
        manual_seed(11 + m + steps);
        var baseSpectrum = rand(bands, 1) * 0.5 + 0.1;
        var spectra = similar ? baseSpectrum + rand(bands, m) * 0.02 : rand(bands, m) * 0.5 + 0.05;
        var pixels = Simplex.Project(randn(2, 7, 9, m)).matmul(spectra.t()) + randn(2, 7, 9, bands) * 0.02;
        var logits = randn(2, 7, 9, m);
        var weights = randn(2, 7, 9, m);
        // Flags per token ([2, 7] over [2, 7, 9, m]): inactive tokens are returned as they are, gradient passed through.
        Tensor? active = someInactive ? (rand(2, 7) > 0.5).to_type(ScalarType.Float32) : null;
        (Tensor Value, Tensor[] Grads) Run(bool fused)
        {
            var l = logits.clone().requires_grad_();
            var e = spectra.clone().requires_grad_();
            var start = l.softmax(-1);
            var gram = e.t().matmul(e);
            var projection = pixels.matmul(e);
            Assert.True(UnrolledLeastSquares.Handles(start, gram, projection));
            var solved = fused ? Simplex.LeastSquares(start, gram, projection, steps, active) : Simplex.LeastSquaresComposed(start, gram, projection, steps, active);
            if (active is not null)
            {
                var kept = (active == 0).view(2, 7, 1, 1).expand_as(start);
                Assert.True(solved.masked_select(kept).equal(start.masked_select(kept)).all().item<bool>(), "an inactive vector changed");
            }
            var grads = autograd.grad([(solved * weights).sum()], [l, e]);
            return (solved.detach(), [.. grads]);
        }
        var (fusedValue, fusedGrads) = Run(fused: true);
        var (composedValue, composedGrads) = Run(fused: false);
        Assert.True((fusedValue - composedValue).abs().max().item<float>() < 1e-5, "values differ");
        for (int i = 0; i < 2; i++)
        {
            float scale = composedGrads[i].abs().max().item<float>();
            Assert.True(scale > 0, "the composed gradient is zero: the case tests nothing");
            float error = (fusedGrads[i] - composedGrads[i]).abs().max().item<float>();
            Assert.True(error < 1e-4 * Math.Max(1, scale), $"gradient {i} differs by {error} (scale {scale})");
        }
    }

    [Fact]
    public void Fista_steps_converge_to_the_fully_constrained_least_squares_solution()
    {
        manual_seed(2);
        var endmembers = rand(30, 4) * 0.5 + 0.05;                                 // [bands, M]
        var truth = Simplex.Project(randn(64, 4));
        var pixels = truth.matmul(endmembers.t()) + randn(64, 30) * 0.01;
        var solved = Simplex.LeastSquares(full(64, 4, 0.25f), endmembers.t().matmul(endmembers), pixels.matmul(endmembers), 2000);
        var fcls = new FullyConstrainedLeastSquares(To2D(endmembers));
        var pixelData = pixels.data<float>().ToArray();
        var expected = new double[4];
        var got = solved.data<float>().ToArray();
        for (int i = 0; i < 64; i++)
        {
            fcls.Unmix(pixelData.AsSpan(i * 30, 30), expected);
            for (int j = 0; j < 4; j++) Assert.Equal(expected[j], got[i * 4 + j], 2e-3);
        }
    }

    static float[,] To2D(Tensor t)
    {
        var data = t.data<float>().ToArray();
        var r = new float[t.shape[0], t.shape[1]];
        for (int i = 0; i < r.GetLength(0); i++) for (int j = 0; j < r.GetLength(1); j++) r[i, j] = data[i * r.GetLength(1) + j];
        return r;
    }
}
