using Karma.Model;

namespace Karma.Model;

/// <summary>
/// How much memory a training step or a forward pass of a model needs, estimated before it runs, so that a
/// preset, batch or tile size that cannot fit fails at once with the numbers instead of being killed by the
/// operating system an hour in. The estimate is calibrated against the peak resident memory of real steps on
/// CPU (tiny/small/paper presets, 50–218 bands, batch 1–32): it lands within about 25% of the measured peak either way,
/// so it refuses only what clearly cannot fit.
/// </summary>
public sealed record MemoryEstimate(long ParameterBytes, long PerSampleBytes, int BatchSize, bool Training)
{
    /// <summary>Runtime, thread pools and allocator slack that every process carries.</summary>
    const long BaseBytes = 300L << 20;
    /// <summary>Copies of a tile's values alive at the peak of a step (input, targets, both heads' outputs, loss terms, gradients).</summary>
    const int TrainingTileCopies = 25, InferenceTileCopies = 8;
    /// <summary>Floats kept per token and model dimension in a transformer block for the backward pass.</summary>
    const int TrainingFloatsPerTokenDim = 30, InferenceFloatsPerTokenDim = 6;

    /// <summary>Total bytes: weights (plus gradients and AdamW's two moments when training) and the batch's activations.</summary>
    public long TotalBytes => BaseBytes + ModelBytes + PerSampleBytes * BatchSize;

    /// <summary>Weights, and when training their gradients, AdamW's two moments and the optimiser's temporaries.</summary>
    long ModelBytes => ParameterBytes * (Training ? 6 : 1);

    /// <summary>The estimate for <paramref name="config"/> with <paramref name="parameters"/> parameters at <paramref name="batchSize"/>.</summary>
    public static MemoryEstimate For(KarmaConfig config, long parameters, int batchSize, bool training)
    {
        long tileBytes = (long)config.Bands * config.TileSize * config.TileSize * sizeof(float);
        int floats = training ? TrainingFloatsPerTokenDim : InferenceFloatsPerTokenDim;
        long encoderTokens = training ? config.VisibleTokens : config.Tokens;
        long transformer = (config.EncoderDepth * encoderTokens * (config.EncoderDim * (long)floats + config.EncoderHeads * encoderTokens)
                            + config.DecoderDepth * config.Tokens * (config.DecoderDim * (long)floats + config.DecoderHeads * config.Tokens)) * sizeof(float);
        long perSample = tileBytes * (training ? TrainingTileCopies : InferenceTileCopies) + transformer;
        return new MemoryEstimate(parameters * sizeof(float), perSample, batchSize, training);
    }

    /// <summary>Memory this process may still use: the cgroup limit's headroom or the system's available memory, whichever is smaller.</summary>
    public static long Available()
    {
        long available = long.MaxValue;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                    available = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            string max = "/sys/fs/cgroup/memory.max", current = "/sys/fs/cgroup/memory.current";
            if (File.Exists(max) && File.Exists(current) && long.TryParse(File.ReadAllText(max).Trim(), out long limit))
                available = Math.Min(available, limit - long.Parse(File.ReadAllText(current).Trim()));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return available == long.MaxValue ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : available;
    }

    /// <summary>
    /// Throws when the estimate exceeds <paramref name="available"/> bytes (default: <see cref="Available"/>), naming the
    /// estimate, what is free, and the largest batch that would fit.
    /// </summary>
    public void EnsureFits(string what, long? available = null)
    {
        long free = available ?? Available();
        if (TotalBytes <= free) return;
        long fixedBytes = BaseBytes + ModelBytes;
        long fits = Math.Max(0, (free - fixedBytes) / PerSampleBytes);
        string advice = fits >= 1
            ? $"A batch of {fits} would fit"
            : "Even a batch of 1 does not fit; use a smaller preset or tile size";
        throw new InvalidSettingException(
            $"{what} needs about {Gib(TotalBytes)} of memory (batch {BatchSize}: {Gib(ModelBytes)} for " +
            $"{(Training ? "weights, gradients and AdamW state" : "weights")}, {Gib(PerSampleBytes)} per tile, {Gib(BaseBytes)} runtime) " +
            $"but only {Gib(free)} is available. {advice}, or free memory; or skip the memory check to try anyway.")
        { Settings = ["BatchSize", "Preset", "TileSize", "SkipMemoryCheck"] };
    }

    /// <summary>The largest batch up to <paramref name="most"/> whose forward pass fits in half the available memory (at least 1).</summary>
    public static int InferenceBatch(KarmaConfig config, long parameters, int most)
    {
        var one = For(config, parameters, 1, training: false);
        long room = Available() / 2 - (one.TotalBytes - one.PerSampleBytes);
        return (int)Math.Clamp(room / one.PerSampleBytes, 1, most);
    }

    static string Gib(long bytes) => $"{bytes / (double)(1L << 30):F1} GiB";
}
