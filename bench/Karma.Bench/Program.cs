using System.Diagnostics;
using System.Text.Json;
using Karma.Bench;
using Karma.Runtime;

// Usage: dotnet run -c Release --project bench/Karma.Bench -- [--out results.json] [--quick]
// Runs every benchmark in one process and writes one JSON file with the environment and all results,
// so ratios between entries come from the same run on the same machine.
string outPath = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? $"bench-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json";
bool quick = args.Contains("--quick");

TorchRuntime.EnsureLoaded();
var harness = new Harness(quick ? 1 : 3, quick ? 3 : 10);
var results = new List<BenchResult>();
foreach (var bench in Benchmarks.All(quick))
{
    var r = harness.Measure(bench);
    results.Add(r);
    Console.WriteLine($"{r.Name,-40} median {r.MedianMs,10:F3} ms  (min {r.MinMs:F3}, max {r.MaxMs:F3})  {string.Join(", ", r.Metrics.Select(m => $"{m.Key}={m.Value:G4}"))}");
}
var report = new { environment = KarmaEnvironment.Capture(), startedUtc = Process.GetCurrentProcess().StartTime.ToUniversalTime(), results };
string tmp = outPath + ".tmp";
File.WriteAllText(tmp, JsonSerializer.Serialize(report, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
File.Move(tmp, outPath, overwrite: true);
Console.WriteLine($"wrote {outPath}");
