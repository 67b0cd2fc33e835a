using System.Diagnostics;

namespace Karma.Bench;

/// <summary>One benchmark: a name, an action timed per repetition, and how to turn the median time into rates.</summary>
public sealed record Benchmark(string Name, Action Run, Func<double, Dictionary<string, double>>? Rates = null);

/// <summary>What one benchmark measured: per-repetition times, rates at the median, and notes (e.g. which BLAS a peer used).</summary>
public sealed record BenchResult(string Name, double MedianMs, double MinMs, double MaxMs, double[] SamplesMs, Dictionary<string, double> Metrics,
                                 Dictionary<string, string>? Notes = null)
{
    /// <summary>The median of <paramref name="samples"/>, with min and max.</summary>
    public static BenchResult FromSamples(string name, double[] samples, Dictionary<string, double> metrics, Dictionary<string, string>? notes = null)
    {
        return new BenchResult(name, Median(samples), samples.Min(), samples.Max(), samples, metrics, notes);
    }

    /// <summary>The median of <paramref name="samples"/> (the mean of the middle two for an even count).</summary>
    public static double Median(IReadOnlyCollection<double> samples) => Quantile(samples, 0.5);

    /// <summary>The <paramref name="q"/>-quantile of <paramref name="samples"/>, linearly interpolated between order statistics.</summary>
    public static double Quantile(IReadOnlyCollection<double> samples, double q)
    {
        var sorted = samples.Order().ToArray();
        double at = q * (sorted.Length - 1);
        int below = (int)Math.Floor(at);
        return below + 1 < sorted.Length ? sorted[below] + (at - below) * (sorted[below + 1] - sorted[below]) : sorted[below];
    }
}

/// <summary>Warm-up, then repeated timing; reports median and spread rather than a mean that one hiccup skews.</summary>
public sealed class Harness(int warmup, int repetitions)
{
    public BenchResult Measure(Benchmark b, int? reps = null)
    {
        for (int i = 0; i < warmup; i++) b.Run();
        var samples = new double[reps ?? repetitions];
        for (int i = 0; i < samples.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            b.Run();
            samples[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        var result = BenchResult.FromSamples(b.Name, samples, []);
        return result with { Metrics = b.Rates?.Invoke(result.MedianMs) ?? [] };
    }
}
