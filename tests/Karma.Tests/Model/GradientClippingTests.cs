using Karma.Model;
using Karma.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Karma.Tests.Model;

public class GradientClippingTests
{
    public GradientClippingTests() => TorchRuntime.EnsureLoaded();

    /// <summary>
    /// Two identical sets of parameters with the same gradients (sizes with and without a vector tail), the same on every
    /// call: drawn from a generator of their own, since other test classes draw from libtorch's global one in parallel.
    /// </summary>
    static (Parameter[] Ours, Parameter[] Theirs) Pair(float scale)
    {
        using var generator = new Generator(6);
        var shapes = new long[][] { [300, 70], [13], [9000], [1] };
        var values = shapes.Select(s => randn(s, generator: generator)).ToArray();
        var grads = shapes.Select(s => randn(s, generator: generator) * scale).ToArray();
        Parameter[] Make() => values.Zip(grads, (v, g) => { var p = new Parameter(v.clone()); p.grad = g.clone(); return p; }).ToArray();
        return (Make(), Make());
    }

    [Theory]
    [InlineData(1f, 1.0)]      // clips: a norm of about 175 down to 1
    [InlineData(1e-3f, 1.0)]   // does not clip: gradients untouched
    public void The_norm_and_the_clipped_gradients_equal_torchs(float scale, double maxNorm)
    {
        var (ours, theirs) = Pair(scale);
        double norm = GradientClipping.ClipTotalNorm(ours, maxNorm);
        double expected = nn.utils.clip_grad_norm_(theirs, maxNorm);
        Assert.Equal(expected, norm, expected * 1e-6);
        foreach (var (a, b) in ours.Zip(theirs))
            Assert.True(a.grad!.allclose(b.grad!, rtol: 1e-6, atol: 1e-9), $"max difference {(a.grad! - b.grad!).abs().max().item<float>()}");
        if (scale < 1e-2f)
            foreach (var (a, (_, b)) in ours.Zip(Pair(scale).Theirs.Select(p => (p, p.grad!))))
                Assert.True(a.grad!.equal(b).all().item<bool>());                 // below the limit: not even rounded
    }

    [Fact]
    public void A_gradient_that_is_not_finite_is_left_to_torch()
    {
        var (ours, theirs) = Pair(1f);
        ours[1].grad![3] = tensor(float.PositiveInfinity);
        theirs[1].grad![3] = tensor(float.PositiveInfinity);
        Assert.Equal(nn.utils.clip_grad_norm_(theirs, 1.0), GradientClipping.ClipTotalNorm(ours, 1.0));
    }
}
