using Karma.Runtime;
using Karma.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Karma.Tests.Model;

[Collection(SerialTorchCollection.Name)]
public class LeanAdamWTests
{
    public LeanAdamWTests() => TorchRuntime.EnsureLoaded();

    /// <summary>Two copies of the same weights in two groups (decayed and not), as the trainers set them up.</summary>
    static (Parameter[] Decayed, Parameter[] Plain) Weights()
    {
        manual_seed(3);
        return ([new Parameter(randn(7, 5)), new Parameter(randn(4, 4))], [new Parameter(randn(5))]);
    }

    static AdamW.ParamGroup[] Groups((Parameter[] Decayed, Parameter[] Plain) w) =>
        [new(w.Decayed, 2e-2, beta2: 0.99, weight_decay: 0.05), new(w.Plain, 1e-2, beta2: 0.999, weight_decay: 0)];

    static void Step(torch.optim.Optimizer optimizer, (Parameter[] Decayed, Parameter[] Plain) w, int step)
    {
        optimizer.zero_grad();
        var generator = new Generator((ulong)step);
        using var loss = w.Decayed.Concat(w.Plain).Select(p => (p * randn(p.shape, generator: generator)).sin().sum()).Aggregate((a, b) => a + b);
        loss.backward();
        optimizer.step();
    }

    [Fact]
    public void Its_updates_equal_torchsharps_adamw_within_rounding_and_its_state_round_trips()
    {
        var reference = Weights();
        var lean = Weights();
        using var expected = new AdamW(Groups(reference), 1e-2);
        using var actual = new LeanAdamW(Groups(lean), 1e-2);
        var start = lean.Decayed.Concat(lean.Plain).Select(p => p.detach().clone()).ToArray();
        for (int step = 0; step < 20; step++)
        {
            Step(expected, reference, step);
            Step(actual, lean, step);
        }
        foreach (var ((e, a), s) in reference.Decayed.Concat(reference.Plain).Zip(lean.Decayed.Concat(lean.Plain)).Zip(start))
        {
            // The fused kernel may round a multiply-add differently from libtorch's vector code: a few float32 ulps after 20 steps.
            Assert.True(a.allclose(e, rtol: 1e-6, atol: 1e-7), $"max difference {(a - e).abs().max().item<float>()}");
            Assert.False(a.allclose(s, rtol: 0, atol: 1e-3));   // the weights did move
        }

        // Saved state restores the moments and step count: continuing from a reload equals continuing in place.
        using var dir = new TempDir();
        actual.save_state_dict(dir.File("optimizer.bin"));
        var copy = (lean.Decayed.Select(p => new Parameter(p.detach().clone())).ToArray(), lean.Plain.Select(p => new Parameter(p.detach().clone())).ToArray());
        using var restored = new LeanAdamW(Groups(copy), 1e-2);
        restored.load_state_dict(dir.File("optimizer.bin"));
        for (int step = 20; step < 25; step++)
        {
            Step(actual, lean, step);
            Step(restored, copy, step);
        }
        foreach (var (a, r) in lean.Decayed.Concat(lean.Plain).Zip(copy.Item1.Concat(copy.Item2)))
            Assert.True(a.allclose(r, rtol: 0, atol: 0));
    }
}
