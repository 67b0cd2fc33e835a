using Karma.Bench;
using Karma.Model;

namespace Karma.Tests.Bench;

public class ModelFlopsTests
{
    static readonly KarmaConfig Tiny = KarmaConfig.Tiny with { Bands = 218 };

    static void Close(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Abs(expected), $"expected {expected:R}, got {actual:R}");

    [Fact]
    public void A_plain_mae_has_no_branch_and_karma_adds_exactly_its_branch()
    {
        var mae = Tiny with { Variant = ModelVariant.Mae };
        Assert.Equal(0, ModelFlops.PhysicsBranch(mae, 8));
        Assert.Equal(ModelFlops.Backbone(mae, 8), ModelFlops.TrainingStep(mae, 8));
        Assert.Equal(ModelFlops.Backbone(Tiny, 8) + ModelFlops.PhysicsBranch(Tiny, 8), ModelFlops.TrainingStep(Tiny, 8));
        Assert.Equal(ModelFlops.Backbone(Tiny, 8), ModelFlops.Backbone(mae, 8));
        Close(2 * ModelFlops.TrainingStep(Tiny, 4), ModelFlops.TrainingStep(Tiny, 8));
    }

    [Fact]
    public void The_branch_count_follows_what_the_branch_reads()
    {
        double every = ModelFlops.PhysicsBranch(Tiny, 8);
        Close(every / 4, ModelFlops.PhysicsBranch(Tiny with { PhysicsEvery = 4 }, 8));
        // Doubling the bands adds what reads them again: Aᵀy of every pixel (its forward and A's gradient, 2·2·N·P²·bands·M a
        // tile) and the pixel head's first layer on the visible pixels (forward and weight gradient, 2·2·V·P²·bands·(2M + 16)).
        double projection = 2 * 2 * Tiny.Tokens * 64.0 * Tiny.Bands * Tiny.Endmembers * 8;
        double pixelHead = 2 * 2 * Tiny.VisibleTokens * 64.0 * Tiny.Bands * (2 * Tiny.Endmembers + 16) * 8;
        Close(every + projection + pixelHead, ModelFlops.PhysicsBranch(Tiny with { Bands = 2 * Tiny.Bands }, 8));
        // A quarter of tiny's patches: 1 of its 4 visible and 3 of its 12 masked, so every part falls to a quarter.
        Close(every / 4, ModelFlops.PhysicsBranch(Tiny with { PhysicsShare = 0.25 }, 8));
        // Without the FCLS steps and the pixel head only the head and Aᵀy are left.
        var plain = Tiny with { AbundanceRefinementSteps = 0, AbundanceFromSpectrum = false };
        double head = 3 * Tiny.Tokens * (2.0 * 64 * 32 + 2.0 * 32 * 64 * Tiny.Endmembers) * 8;
        Close(head + projection, ModelFlops.PhysicsBranch(plain, 8));
    }
}
