using System.Diagnostics;
using System.Text.Json;

namespace Karma.Tests.Bench;

/// <summary>The benchmark is not timed in tests; this only checks that its quick run works and writes valid JSON.</summary>
[Collection(SerialTorchCollection.Name)]
public class BenchSmokeTests
{
    [Fact]
    public async Task Quick_benchmark_runs_and_writes_valid_json_and_a_summary()
    {
        using var dir = new TempDir();
        string output = dir.File("bench.json");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Karma.Bench.dll"), "--quick", "--threads", "1", "--out", output })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string error = await process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, error + await stdout);

        using var json = JsonDocument.Parse(File.ReadAllText(output));
        var names = json.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).ToList();
        foreach (var prefix in new[] { "matmul_peak_", "train_step_", "reconstruct_", "abundances_", "embed_", "read_raw_", "read_karma_", "memory_tiling_", "memory_streaming_" })
            Assert.Contains(names, n => n.StartsWith(prefix, StringComparison.Ordinal));
        foreach (var r in json.RootElement.GetProperty("results").EnumerateArray())
            Assert.True(r.GetProperty("medianMs").GetDouble() > 0, r.GetProperty("name").GetString());
        Assert.Contains("KARMA overhead", File.ReadAllText(Path.ChangeExtension(output, ".md")));
    }
}
