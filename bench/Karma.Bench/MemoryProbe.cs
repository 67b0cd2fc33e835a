using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Karma.Data;
using Karma.Runtime;

namespace Karma.Bench;

/// <summary>
/// Peak resident memory (VmHWM) of reading a scene, measured in a fresh child process so earlier benchmarks'
/// allocations do not count: <c>tiling</c> cuts training tiles (bounded by <see cref="TilingOptions.MemoryBudgetMiB"/>),
/// <c>streaming</c> reads the whole scene as reflectance in 64-row strips, as <c>karma embed</c> and inference do.
/// </summary>
static class MemoryProbe
{
    public static BenchResult Run(string mode, string scenePath)
    {
        string self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(MemoryProbe).Assembly.Location);
        foreach (var a in new[] { "--rss-child", mode, scenePath }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"memory probe '{mode}' failed with exit code {process.ExitCode}");
        var json = JsonNode.Parse(output)!;
        double ms = json["ms"]!.GetValue<double>(), megabytes = new FileInfo(Path.ChangeExtension(scenePath, ".img")).Length / 1e6;
        return BenchResult.FromSamples($"memory_{mode}_{megabytes / 1000:F2}GB_scene", [ms], new()
        {
            ["sceneMegabytes"] = megabytes,
            ["peakRssMiB"] = json["peakRssMiB"]!.GetValue<double>(),
            ["peakAnonymousMiB"] = json["peakAnonymousMiB"]!.GetValue<double>(),
            ["baselineRssMiB"] = json["baselineRssMiB"]!.GetValue<double>(),
            ["megabytesPerSecond"] = megabytes / (ms * 1e-3),
            ["tiles"] = json["tiles"]!.GetValue<double>(),
        });
    }

    public static int Child(string mode, string scenePath)
    {
        TorchRuntime.EnsureLoaded();
        double baseline = Status("VmRSS:"), peakAnonymous = 0;
        // Peak RSS counts the scene's memory-mapped file pages, which the kernel can drop at will; sample the
        // anonymous (heap) part separately, as that is what the process itself holds on to.
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peakAnonymous = Math.Max(peakAnonymous, Status("RssAnon:"));
                try { await Task.Delay(20, sampling.Token); } catch (TaskCanceledException) { }
            }
        });
        long t0 = Stopwatch.GetTimestamp();
        int tiles = 0;
        using (var scene = HyperspectralScene.Open(scenePath))
        {
            var options = new TilingOptions { TileSize = 64 };
            if (mode == "tiling") tiles = TileSet.FromScene(scene, options).Tiles.Count;
            else
            {
                var reader = new ReflectanceReader(scene, options);
                var strip = new float[reader.Bands * 64 * scene.Samples];
                var invalid = new bool[64 * scene.Samples];
                for (int r = 0; r < scene.Lines; r += 64)
                {
                    int rows = Math.Min(64, scene.Lines - r);
                    reader.Read(r, 0, rows, scene.Samples, strip.AsSpan(0, reader.Bands * rows * scene.Samples), invalid.AsSpan(0, rows * scene.Samples));
                }
            }
        }
        double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        sampling.Cancel();
        sampler.Wait();
        peakAnonymous = Math.Max(peakAnonymous, Status("RssAnon:"));
        Console.WriteLine(JsonSerializer.Serialize(new { ms, peakRssMiB = Status("VmHWM:"), peakAnonymousMiB = peakAnonymous, baselineRssMiB = baseline, tiles }));
        return 0;
    }

    /// <summary>A /proc/self/status memory line in MiB.</summary>
    static double Status(string key) =>
        File.ReadLines("/proc/self/status").Where(l => l.StartsWith(key, StringComparison.Ordinal))
            .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).First();
}
