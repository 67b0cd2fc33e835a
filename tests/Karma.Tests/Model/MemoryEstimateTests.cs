using Karma.Model;
using Karma.Training;

namespace Karma.Tests.Model;

public class MemoryEstimateTests
{
    const long GiB = 1L << 30;

    [Fact]
    public void Paper_preset_training_needs_gigabytes_and_grows_linearly_with_the_batch()
    {
        var paper = KarmaConfig.Paper;
        const long parameters = 120_650_000;   // the paper preset at 218 bands
        var one = MemoryEstimate.For(paper, parameters, 1, training: true);
        var two = MemoryEstimate.For(paper, parameters, 2, training: true);
        // Measured peak RSS of a real step on this CPU: 3.7 GiB at batch 1, 4.4 GiB at batch 2.
        Assert.InRange(one.TotalBytes, 3 * GiB, 5 * GiB);
        Assert.Equal(one.PerSampleBytes, two.TotalBytes - one.TotalBytes);
        Assert.True(MemoryEstimate.For(paper, parameters, 1, training: false).TotalBytes < one.TotalBytes / 2);
    }

    [Fact]
    public void A_step_that_cannot_fit_is_refused_with_the_estimate_and_a_batch_that_fits()
    {
        var estimate = MemoryEstimate.For(KarmaConfig.Paper, 120_650_000, 16, training: true);
        var e = Assert.ThrowsAny<KarmaException>(() => estimate.EnsureFits("Training the paper preset", available: 6 * GiB));
        Assert.Contains("Training the paper preset needs about", e.Message);
        Assert.Contains("6.0 GiB is available", e.Message);
        long fits = (6 * GiB - (estimate.TotalBytes - 16 * estimate.PerSampleBytes)) / estimate.PerSampleBytes;
        Assert.Contains($"A batch of {fits} would fit", e.Message);
        Assert.Contains("BatchSize", e.Settings);
        Assert.True(fits is >= 1 and < 16);
        estimate.EnsureFits("fits", available: estimate.TotalBytes);   // exactly enough: no error
        var hopeless = Assert.ThrowsAny<KarmaException>(() => estimate.EnsureFits("x", available: GiB));
        Assert.Contains("smaller preset", hopeless.Message);
    }

    [Fact]
    public void Inference_batch_stays_between_one_and_the_requested_size()
    {
        Assert.Equal(16, MemoryEstimate.InferenceBatch(KarmaConfig.Tiny with { Bands = 10 }, 1000, 16));
        Assert.InRange(MemoryEstimate.InferenceBatch(KarmaConfig.Paper with { TileSize = 224 * 64 }, 120_650_000, 16), 1, 1);
    }
}
