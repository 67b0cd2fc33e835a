using static TorchSharp.torch;

namespace Karma.Bench;

/// <summary>The benchmark list. The matmul peak is the yardstick that model-throughput (MFU) figures divide by.</summary>
static class Benchmarks
{
    public static IEnumerable<Benchmark> All(bool quick)
    {
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            yield return MatmulPeak(quick ? 512 : 2048, dtype);
    }

    /// <summary>Square matrix product throughput in GFLOP/s: 2·n³ floating-point operations per product.</summary>
    static Benchmark MatmulPeak(int n, ScalarType dtype)
    {
        var a = randn(n, n).to(dtype);
        var b = randn(n, n).to(dtype);
        return new Benchmark($"matmul_peak_{n}_{dtype}".ToLowerInvariant(),
            () => { using var c = a.matmul(b); },
            ms => new() { ["gflops"] = 2.0 * n * n * n / (ms * 1e-3) / 1e9 });
    }
}
