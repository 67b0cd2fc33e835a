using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Karma;
using Karma.Bench;
using Karma.Data;
using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

// Usage: dotnet run -c Release --project bench/Karma.Bench -- [--out results.json] [--quick] [--no-peer] [--threads N]
//        [--only step,overhead,inference,reading,memory]   (the matmul peak always runs: MFU needs it; step includes overhead;
//                                                     overhead-parts, only when named, times KARMA with parts switched off)
//        [--presets tiny,small,paper]   (the step and overhead rows' presets; default all)
//        [--rounds N]   (alternated mae/karma rounds of the overhead rows; the CPU presets' also with the physics branch in one step of 4 and of 8;
//                        default 40, 16 for the paper preset)
//        [--parts share,fcls]   (only the overhead-parts rows whose names contain one of these)
// Runs every benchmark in one process (the PyTorch peer and the memory probes in child processes it starts)
// and writes one JSON file with the environment and all results, plus a Markdown summary beside it, so every
// ratio comes from the same run on the same machine. --quick is the smoke test's tiny version.
if (args.Length == 3 && args[0] == "--rss-child") return MemoryProbe.Child(args[1], args[2]);

string outPath = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? $"bench-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json";
bool quick = args.Contains("--quick"), peer = !quick && !args.Contains("--no-peer");
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault()?.Split(',');
bool Section(string name) => only is null || only.Contains(name) || (name == "overhead" && only.Contains("step"));
var presets = args.SkipWhile(a => a != "--presets").Skip(1).FirstOrDefault()?.Split(',');
IEnumerable<StepCase> StepCases(string section) =>
    Section(section) ? Benchmarks.StepCases(quick).Where(c => presets is null || presets.Contains(c.Config.Preset, StringComparer.OrdinalIgnoreCase)) : [];
int? rounds = args.SkipWhile(a => a != "--rounds").Skip(1).FirstOrDefault() is { } r ? int.Parse(r, CultureInfo.InvariantCulture) : null;
int threads = int.Parse(args.SkipWhile(a => a != "--threads").Skip(1).FirstOrDefault() ?? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

TorchRuntime.EnsureLoaded();
set_num_threads(threads);
var harness = new Harness(quick ? 1 : 2, quick ? 2 : 5);
var results = new List<BenchResult>();
void Report(BenchResult r)
{
    results.Add(r);
    Console.WriteLine($"{r.Name,-58} median {r.MedianMs,10:F1} ms  (min {r.MinMs:F1}, max {r.MaxMs:F1})  {string.Join(", ", r.Metrics.Select(m => $"{m.Key}={m.Value:G4}"))}");
}

// bf16 only where the CPU has it: emulated bf16 runs at well under 1 GFLOP/s and the probe would take minutes.
bool bf16 = KarmaEnvironment.NativeBfloat16;
foreach (var dtype in bf16 ? new[] { ScalarType.Float32, ScalarType.BFloat16 } : [ScalarType.Float32])
    Report(harness.Measure(Benchmarks.MatmulPeak(quick ? 256 : 2048, dtype)));
if (!bf16) Console.WriteLine("bf16 matmul skipped: this CPU has no native bf16 (AVX512_BF16 or AMX)");
double peak = results[0].Metrics["gflops"];

foreach (var c in StepCases("step"))
    foreach (var variant in Benchmarks.Variants)
    {
        bool paper = c.Config.Preset == "paper";
        Report(harness.Measure(Benchmarks.TrainStep(c, variant, peak), reps: paper ? 3 : null));
        // The peer's OpenMP threads spin against OpenBLAS's unless told to wait passively, and which setting wins moves
        // with the row and the machine's load: each peer row runs with both and keeps the faster, so Karma is compared
        // with the best the peer can do here (the row records the setting and the other one's time).
        if (!peer) continue;
        var tries = new[] { "PASSIVE", "ACTIVE" }.Select(policy => Benchmarks.Peer(c, variant, threads, warmup: paper ? 1 : 2, repetitions: paper ? 3 : 5, policy, bf16))
                                                 .OfType<BenchResult>().OrderBy(r => r.MedianMs).ToList();
        if (tries.Count > 0)
            Report(tries[0] with { Metrics = new(tries[0].Metrics) { ["otherWaitPolicyMedianMs"] = tries.Count > 1 ? tries[1].MedianMs : double.NaN } });
    }

foreach (var c in StepCases("overhead"))
{
    int overheadRounds = quick ? 2 : rounds ?? (c.Config.Preset == "paper" ? 16 : 40);
    Report(Benchmarks.Overhead(c, overheadRounds));
    // Beside the default (the physics branch in every step, as the paper runs it), the CPU presets' opt-in cheaper branch:
    // in one step of four or eight (timed in rounds of that many steps; docs/performance.md).
    if (!c.Config.PerPixelAbundances) continue;
    foreach (var (part, change) in Benchmarks.LessOften) Report(Benchmarks.Overhead(c, overheadRounds, part, change));
}
var parts = args.SkipWhile(a => a != "--parts").Skip(1).FirstOrDefault()?.Split(',');
foreach (var c in only?.Contains("overhead-parts") == true ? StepCases("overhead-parts") : [])
    foreach (var (part, change) in Benchmarks.OverheadParts.Where(p => parts is null || parts.Any(p.Part.Contains)))
        Report(Benchmarks.Overhead(c, rounds ?? 20, part, change));

foreach (var config in !Section("inference") ? [] : quick ? [KarmaConfig.Tiny with { TileSize = 16, PatchSize = 4, Bands = 32 }]
                             : new[] { KarmaConfig.Tiny with { Bands = 218 }, KarmaConfig.Small with { Bands = 218 }, KarmaConfig.Paper })
    foreach (var b in Benchmarks.Inference(config, quick ? 32 : 448))
        Report(harness.Measure(b, reps: quick ? 1 : 3));

string scratch = Path.Combine(Path.GetTempPath(), $"karma-bench-{Environment.ProcessId}");
try
{
    Directory.CreateDirectory(scratch);
    foreach (var b in Section("reading") ? Benchmarks.Reading(scratch, quick ? 64 : 1024, quick ? 16 : 218) : [])
        Report(harness.Measure(b, reps: quick ? 1 : 3));
    // The same files through GDAL and h5py (bench/reference/read_peer.py), when they are installed.
    foreach (var (library, file, name) in peer ? Benchmarks.ReadPeers : [])
        if (Benchmarks.ReadPeer(library, file, name, quick ? 1 : 3) is { } p) Report(p);
    if (Section("memory"))
    {
        // Peak memory of a scene larger than 2 GB (quick: a small one), each in a fresh process so peaks do not mix.
        int side = quick ? 128 : 2304, bands = quick ? 16 : 218;
        foreach (var small in new[] { "scene-bsq.img", "scene-bip.img" }) File.Delete(Path.Combine(scratch, small));
        string big = Benchmarks.WriteInt16Envi(scratch, "large", side, side, bands, "bsq");
        foreach (var mode in new[] { "tiling", "streaming" })
            Report(MemoryProbe.Run(mode, big));
    }
}
finally { if (Directory.Exists(scratch)) Directory.Delete(scratch, true); }

var summary = Summary.Markdown(results, threads);
Console.WriteLine();
Console.WriteLine(summary);
AtomicFiles.WriteText(Path.ChangeExtension(outPath, ".md"), summary);
var report = new { environment = KarmaEnvironment.Capture(), threads, startedUtc = Process.GetCurrentProcess().StartTime.ToUniversalTime(), results };
// A value not measured on this machine (bf16 without native support) is NaN and is written as "NaN", not refused.
var jsonOptions = new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
AtomicFiles.WriteText(outPath, JsonSerializer.Serialize(report, jsonOptions));
Console.WriteLine($"wrote {outPath} and {Path.ChangeExtension(outPath, ".md")}");
return 0;
