using Karma.Data;
using Karma.Model;
using Karma.Training;
using static TorchSharp.torch;

namespace Karma.Bench;

/// <summary>The benchmark list. The matmul peak is the yardstick that model-throughput (MFU) figures divide by.</summary>
static class Benchmarks
{
    public static IEnumerable<Benchmark> All(bool quick)
    {
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            yield return MatmulPeak(quick ? 512 : 2048, dtype);
        // Training cost of each variant on the same tiles (the paper reports KARMA at +31.7% over MAE).
        var tiles = SimulatedTiles(quick ? 16 : 32);
        foreach (var variant in new[] { ModelVariant.Mae, ModelVariant.HuberSam, ModelVariant.HuberLsmm, ModelVariant.Karma })
            yield return TrainStep(KarmaConfig.Small with { TileSize = 32, Variant = variant }, tiles, steps: quick ? 1 : 5);
    }

    static TileSet SimulatedTiles(int tileSize)
    {
        var scene = new SceneSimulator { Size = 96, Bands = 218, Seed = 1 }.Generate();
        string dir = Path.Combine(Path.GetTempPath(), $"karma-bench-{Environment.ProcessId}");
        try
        {
            using var opened = HyperspectralScene.Open(scene.WriteTo(dir));
            return TileSet.FromScene(opened, new TilingOptions { TileSize = tileSize });
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Optimiser steps of one model variant (batch 8) in tiles per second.</summary>
    static Benchmark TrainStep(KarmaConfig config, TileSet tiles, int steps)
    {
        manual_seed(0);
        var model = new KarmaModel(config with { Bands = tiles.Bands, TileSize = tiles.TileSize });
        var trainer = new Pretrainer(model, new TrainingOptions { Steps = int.MaxValue, BatchSize = 8 });
        return new Benchmark($"train_step_{config.Preset}_{tiles.TileSize}_{config.Variant}".ToLowerInvariant(),
            () => { for (int i = 0; i < steps; i++) trainer.TrainStep(tiles); },
            ms => new() { ["tilesPerSecond"] = steps * 8 / (ms * 1e-3), ["msPerStep"] = ms / steps });
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
