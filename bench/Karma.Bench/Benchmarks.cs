using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Karma.Data;
using Karma.Downstream;
using Karma.Evaluation;
using Karma.Model;
using Karma.Training;
using Karma.Unmixing;
using static TorchSharp.torch;

namespace Karma.Bench;

/// <summary>What each preset is timed with: the preset's own tile size; batch 8 on the CPU presets, 1 on paper.</summary>
sealed record StepCase(KarmaConfig Config, int Batch);

/// <summary>
/// The benchmark list: the matmul peak (the yardstick for MFU), training steps per preset and variant next to
/// the PyTorch peer, whole-scene inference, reading ENVI/GeoTIFF against a raw read of the same file, and the
/// peak memory of tiling and streaming a scene larger than 2 GB.
/// </summary>
static class Benchmarks
{
    public static IEnumerable<StepCase> StepCases(bool quick) => quick
        ? [new(KarmaConfig.Tiny with { TileSize = 16, PatchSize = 4, Bands = 32 }, 2)]
        : [new(KarmaConfig.Tiny with { Bands = 218 }, 8), new(KarmaConfig.Small with { Bands = 218 }, 8), new(KarmaConfig.Paper, 1)];

    public static readonly ModelVariant[] Variants = [ModelVariant.Mae, ModelVariant.Karma];

    /// <summary>Square matrix product throughput in GFLOP/s: 2·n³ floating-point operations per product.</summary>
    public static Benchmark MatmulPeak(int n, ScalarType dtype)
    {
        var a = randn(n, n).to(dtype);
        var b = randn(n, n).to(dtype);
        return new Benchmark($"matmul_peak_{n}_{dtype}".ToLowerInvariant(),
            () => { using var c = a.matmul(b); },
            ms => new() { ["gflops"] = 2.0 * n * n * n / (ms * 1e-3) / 1e9 });
    }

    /// <summary>Optimiser steps (forward, backward, clipping, AdamW, the step log) of one preset and variant on random tiles.</summary>
    public static Benchmark TrainStep(StepCase c, ModelVariant variant, double peakGflops)
    {
        var config = c.Config with { Variant = variant };
        var random = new Random(1);
        int values = config.Bands * config.TileSize * config.TileSize;
        var tiles = new TileSet
        {
            TileSize = config.TileSize, Bands = config.Bands,
            Tiles = Enumerable.Range(0, Math.Max(16, c.Batch)).Select(i => new TileSet.Tile("bench", 0, i,
                Enumerable.Range(0, values).Select(_ => (float)random.NextDouble() * 0.5f).ToArray())).ToList(),
        };
        manual_seed(0);
        var model = new KarmaModel(config);
        var trainer = new Pretrainer(model, new TrainingOptions { Steps = int.MaxValue, BatchSize = c.Batch });
        double flops = ModelFlops.TrainingStep(config, c.Batch);
        return new Benchmark(StepName(config, c.Batch),
            () => trainer.TrainStep(tiles),
            ms => new()
            {
                ["msPerStep"] = ms, ["tilesPerSecond"] = c.Batch / (ms * 1e-3), ["tokensPerSecond"] = c.Batch * config.Tokens / (ms * 1e-3),
                ["gflopPerStep"] = flops / 1e9, ["gflops"] = flops / (ms * 1e-3) / 1e9, ["mfu"] = flops / (ms * 1e-3) / 1e9 / peakGflops,
                ["parameters"] = model.ParameterCount,
            });
    }

    /// <summary>
    /// KARMA's overhead over mae with their steps alternated, one of each per round, so the drifts of a shared machine
    /// hit both alike (the per-variant rows are timed one after the other); reported as the ratio of the medians, as the
    /// median of the per-round ratios, and as the ratio of the lower quartiles. Interference from other tenants only
    /// ever adds time, and on a busy 2-vCPU machine it can double a step (docs/performance.md), so the lower quartile is
    /// the steadiest estimate of what each step costs. When KARMA runs its physics branch every k-th step
    /// (<see cref="KarmaConfig.PhysicsEvery"/>), a round is k steps of each, one of them with the branch, and the times are
    /// per step averaged over the round: what a run of many steps pays per step; the medians of the step with the branch
    /// and of the others are kept beside them. Each row also names the branch's share of the step's floating-point
    /// operations (<see cref="ModelFlops.PhysicsBranch"/>): the overhead it would add running as efficiently as the rest.
    /// </summary>
    public static BenchResult Overhead(StepCase c, int rounds, string part = "", Func<KarmaConfig, KarmaConfig>? karmaPart = null)
    {
        var mae = TrainStep(c, ModelVariant.Mae, 1);
        var karmaConfig = (karmaPart ?? (k => k))(c.Config with { Variant = ModelVariant.Karma });
        var karma = TrainStep(c with { Config = karmaConfig }, karmaConfig.Variant, 1);
        int cycle = karmaConfig.PhysicsEvery;
        for (int i = 0; i < 2 * cycle; i++) { mae.Run(); karma.Run(); }
        var maeMs = new double[rounds];
        var karmaMs = new double[rounds];
        // Each round's first KARMA step runs the branch (the warm-up took whole rounds); the others are timed apart too.
        var branchMs = new double[rounds];
        var otherMs = new List<double>();
        for (int i = 0; i < rounds; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int j = 0; j < cycle; j++) mae.Run();
            maeMs[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds / cycle;
            for (int j = 0; j < cycle; j++)
            {
                t0 = Stopwatch.GetTimestamp();
                karma.Run();
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                karmaMs[i] += ms / cycle;
                if (j == 0) branchMs[i] = ms; else otherMs.Add(ms);
            }
        }
        double maeMedian = BenchResult.Median(maeMs);
        var split = cycle == 1 ? new Dictionary<string, double>() : new()
        {
            ["branchStepMedianMs"] = BenchResult.Median(branchMs), ["otherStepMedianMs"] = BenchResult.Median(otherMs.ToArray()),
        };
        return BenchResult.FromSamples("overhead_" + StepStem(c.Config, c.Batch) + part, karmaMs, new(split)
        {
            ["maeMedianMs"] = maeMedian,
            ["overheadPercent"] = 100 * (BenchResult.Median(karmaMs) / maeMedian - 1),
            ["pairedOverheadPercent"] = 100 * (BenchResult.Median(karmaMs.Zip(maeMs, (k, m) => k / m).ToArray()) - 1),
            ["maeLowerQuartileMs"] = BenchResult.Quantile(maeMs, 0.25),
            ["karmaLowerQuartileMs"] = BenchResult.Quantile(karmaMs, 0.25),
            ["lowerQuartileOverheadPercent"] = 100 * (BenchResult.Quantile(karmaMs, 0.25) / BenchResult.Quantile(maeMs, 0.25) - 1),
            ["branchFlopPercent"] = 100 * ModelFlops.PhysicsBranch(karmaConfig, c.Batch) / ModelFlops.Backbone(karmaConfig, c.Batch),
        });
    }

    /// <summary>
    /// The physics branch in one step of four and of eight (<c>--physics-every</c>): the rows the overhead section times
    /// beside the default (every step) on the CPU presets, where the branch's cost is a fixed few milliseconds a step.
    /// </summary>
    public static readonly (string Part, Func<KarmaConfig, KarmaConfig> Change)[] LessOften =
    [
        ("_physics_every_4", k => k with { PhysicsEvery = 4 }),
        ("_physics_every_8", k => k with { PhysicsEvery = 8 }),
    ];

    /// <summary>
    /// Where KARMA's overhead goes: the same alternated rows with parts of the physics branch switched off one at a time
    /// (the unrolled FCLS steps, the spectrum input of the abundance head, the whole physics branch, the SAM term), with
    /// the branch reading only a share of the patches, and in one step of every two or sixteen, or of four on a quarter of
    /// the patches (four and eight are rows of the overhead section).
    /// </summary>
    public static IEnumerable<(string Part, Func<KarmaConfig, KarmaConfig> Change)> OverheadParts =>
    [
        ("_physics_every_1_without_fcls_steps", k => k with { PhysicsEvery = 1, AbundanceRefinementSteps = 0 }),
        ("_physics_every_1_without_fcls_steps_or_spectrum_input", k => k with { PhysicsEvery = 1, AbundanceRefinementSteps = 0, AbundanceFromSpectrum = false }),
        ("_without_physics_branch", k => k with { Variant = ModelVariant.HuberSam }),
        ("_physics_every_1_without_sam_term", k => k with { PhysicsEvery = 1, Variant = ModelVariant.HuberLsmm }),
        ("_physics_every_1_share_0.5", k => k with { PhysicsEvery = 1, PhysicsShare = 0.5 }),
        ("_physics_every_1_share_0.25", k => k with { PhysicsEvery = 1, PhysicsShare = 0.25 }),
        ("_physics_every_1_share_0.125", k => k with { PhysicsEvery = 1, PhysicsShare = 0.125 }),
        ("_physics_every_2", k => k with { PhysicsEvery = 2 }),
        ("_physics_every_4_share_0.25", k => k with { PhysicsEvery = 4, PhysicsShare = 0.25 }),
        ("_physics_every_16", k => k with { PhysicsEvery = 16 }),
    ];

    /// <summary>"train_step_{preset}_{tile}x{bands}_b{batch}": a step row's name without its variant.</summary>
    static string StepStem(KarmaConfig config, int batch) => $"train_step_{config.Preset}_{config.TileSize}x{config.Bands}_b{batch}".ToLowerInvariant();

    public static string StepName(KarmaConfig config, int batch) => $"{StepStem(config, batch)}_{config.Variant}".ToLowerInvariant();

    /// <summary>
    /// The same step in PyTorch (bench/reference/karma_step.py) in a child process with the same shapes and threads.
    /// OpenBLAS is given its AVX-512 kernels when the CPU has them: left alone it falls back to generic kernels on
    /// CPUs newer than it knows, which would make the peer look 5× slower than it can be.
    /// </summary>
    public static BenchResult? Peer(StepCase c, ModelVariant variant, int threads, int warmup, int repetitions, string waitPolicy, bool bf16)
    {
        var config = c.Config with { Variant = variant };
        string script = Path.Combine(RepositoryRoot(), "bench", "reference", "karma_step.py");
        var spec = new
        {
            variant = variant.ToString().ToLowerInvariant(), config.Bands, config.TileSize, config.PatchSize, config.EncoderDim, config.EncoderDepth,
            config.EncoderHeads, config.DecoderDim, config.DecoderDepth, config.DecoderHeads, config.MlpRatio, config.Endmembers,
            config.PerPixelAbundances, config.MaskRatio, batch = c.Batch, threads, warmup, repetitions, bf16,
        };
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(JsonSerializer.Serialize(spec, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
        start.Environment.Remove("OPENBLAS_CORETYPE");
        start.Environment.Remove("OPENBLAS_L2_SIZE");
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported) start.Environment["OPENBLAS_CORETYPE"] = "SkylakeX";
        start.Environment["OMP_WAIT_POLICY"] = waitPolicy;
        if (RunPeerScript(start, "PyTorch peer") is not { } json) return null;
        var samples = json["samplesMs"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var blas = json["blas"]!;
        return BenchResult.FromSamples("peer_" + StepName(config, c.Batch), samples,
            new()
            {
                ["matmulFloat32Gflops"] = json["matmulGflops"]!["float32"]!.GetValue<double>(),
                ["matmulBfloat16Gflops"] = json["matmulGflops"]!["bfloat16"]?.GetValue<double>() ?? double.NaN,
                ["parameters"] = json["parameters"]!.GetValue<double>(),
            },
            new()
            {
                ["torch"] = json["torch"]!.GetValue<string>(),
                ["blas"] = string.Join(" ", blas["libraries"]!.AsArray().Select(l => Path.GetFileName(l!.GetValue<string>()))),
                ["openblasKernels"] = blas["openblasCore"]?.GetValue<string>() ?? "-",
                ["attention"] = "explicit softmax(QKᵀ/√d)V (PyTorch 1.13 has no public SDPA)",
                ["ompWaitPolicy"] = waitPolicy,
            });
    }

    /// <summary>
    /// Whole-scene inference with nothing masked, in pixels per second: reconstruction, abundances and per-pixel
    /// features over tiles covering a simulated scene.
    /// </summary>
    public static IEnumerable<Benchmark> Inference(KarmaConfig config, int sceneSize)
    {
        var scene = new SceneSimulator { Size = sceneSize, Bands = config.Bands, Seed = 2 }.Generate();
        var cube = new ReflectanceCube(scene.Cube, new bool[sceneSize * sceneSize], scene.Bands, sceneSize, sceneSize, new SpectralBands(scene.Wavelengths, null), new SceneMetadata());
        manual_seed(0);
        var model = new KarmaModel(config with { Variant = ModelVariant.Karma });
        double pixels = sceneSize * sceneSize;
        Dictionary<string, double> Rate(double ms) => new() { ["pixelsPerSecond"] = pixels / (ms * 1e-3) };
        string name = $"{config.Preset}_{config.TileSize}x{config.Bands}_scene{sceneSize}";
        yield return new Benchmark("reconstruct_" + name, () => SceneReconstruction.Reconstruct(model, cube), Rate);
        yield return new Benchmark("abundances_" + name, () => SceneUnmixing.Karma(model, cube), Rate);
        yield return new Benchmark("embed_" + name, () => PixelFeatures.Encode(model, cube), Rate);
    }

    /// <summary>
    /// Reading whole scenes through Karma's readers, in 64-row windows of all bands, against a plain sequential read of
    /// the same file (both from the page cache): int16 ENVI (BSQ and BIP), float32 GeoTIFF with Deflate and with LZW
    /// (floating-point predictor, band-interleaved strips as GDAL writes them), and a MATLAB v7.3 file chunked and
    /// deflated the way MATLAB does it (64 × 100 × 2 chunks of the reversed dimensions).
    /// </summary>
    public static IEnumerable<Benchmark> Reading(string directory, int size, int bands)
    {
        foreach (var interleave in new[] { "bsq", "bip" })
        {
            string header = WriteInt16Envi(directory, $"scene-{interleave}", size, size, bands, interleave);
            ReadPeers.Add(("gdal", header, $"envi_int16_{interleave}_{size}x{size}x{bands}"));
            foreach (var b in ReadPair(header, Path.ChangeExtension(header, ".img"), ReadPeers[^1].Name)) yield return b;
        }
        int tiffSize = Math.Min(size, 512);
        var cube = SmoothCube(bands, tiffSize, tiffSize);
        string tiff = Path.Combine(directory, "scene.tif");
        SceneWriter.Write(tiff, tiffSize, tiffSize, bands, cube);
        ReadPeers.Add(("gdal", tiff, $"geotiff_f32_deflate_{tiffSize}x{tiffSize}x{bands}"));
        foreach (var b in ReadPair(tiff, tiff, ReadPeers[^1].Name)) yield return b;
        string lzw = Path.Combine(directory, "scene-lzw.tif");
        BenchFiles.WriteLzwTiff(lzw, tiffSize, tiffSize, bands, cube);
        ReadPeers.Add(("gdal", lzw, $"geotiff_f32_lzw_{tiffSize}x{tiffSize}x{bands}"));
        foreach (var b in ReadPair(lzw, lzw, ReadPeers[^1].Name)) yield return b;
        int matSize = Math.Min(size, 300);
        string mat = Path.Combine(directory, "scene-v73.mat");
        string writer = BenchFiles.WriteMatlabV73(mat, matSize, matSize, Math.Min(bands, 128), SmoothCube(Math.Min(bands, 128), matSize, matSize));
        Console.WriteLine($"MATLAB v7.3 bench file written by {writer}");
        ReadPeers.Add(("h5py", mat, $"matlab_v73_f32_chunked_{matSize}x{matSize}x{Math.Min(bands, 128)}"));
        foreach (var b in ReadPair(mat, mat, ReadPeers[^1].Name)) yield return b;
    }

    /// <summary>[band][row][col] values of smooth spectra with a little noise, compressible as real scenes are.</summary>
    static float[] SmoothCube(int bands, int rows, int cols)
    {
        var random = new Random(3);
        var cube = new float[bands * rows * cols];
        for (int i = 0; i < cube.Length; i++) cube[i] = (float)(0.2 + 0.1 * Math.Sin(i * 0.001) + 0.01 * random.NextDouble());
        return cube;
    }

    /// <summary>The files <see cref="Reading"/> has written so far, with the library that reads each for comparison and its row name.</summary>
    public static List<(string Library, string File, string Name)> ReadPeers { get; } = [];

    /// <summary>Runs a reference script and parses the JSON it prints; null (and one line on stderr) when Python or the library is missing.</summary>
    static JsonNode? RunPeerScript(ProcessStartInfo start, string what)
    {
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception) { return null; }
        string output = process.StandardOutput.ReadToEnd(), error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode == 0) return JsonNode.Parse(output)!;
        Console.Error.WriteLine($"{what} failed ({error.Trim().Split('\n').LastOrDefault()}); run bench/reference/install.sh to install it.");
        return null;
    }

    /// <summary>
    /// A whole-file read by GDAL (ReadAsArray, the dataset reopened each time so its block cache starts empty; the faster of
    /// GDAL_NUM_THREADS unset and ALL_CPUS) or h5py, from bench/reference/read_peer.py; null when the library is missing.
    /// </summary>
    public static BenchResult? ReadPeer(string library, string file, string name, int repetitions)
    {
        string script = Path.Combine(RepositoryRoot(), "bench", "reference", "read_peer.py");
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        // An ENVI scene is opened (by GDAL) and sized by its binary, not its header.
        string path = file.EndsWith(".hdr", StringComparison.Ordinal) ? Path.ChangeExtension(file, ".img") : file;
        start.ArgumentList.Add(JsonSerializer.Serialize(new { library, path, variable = "cube", repetitions }));
        if (RunPeerScript(start, $"{library} read peer") is not { } json) return null;
        var samples = json["samplesMs"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        double megabytes = new FileInfo(path).Length / 1e6;
        return BenchResult.FromSamples($"read_{library}_{name}", samples,
            new() { ["megabytesPerSecond"] = megabytes / (BenchResult.Median(samples) * 1e-3), ["fileMegabytes"] = megabytes },
            new() { ["library"] = $"{library} {json["version"]!.GetValue<string>()}", ["setting"] = json["setting"]?.GetValue<string>() ?? "-" });
    }

    static IEnumerable<Benchmark> ReadPair(string scenePath, string dataPath, string name)
    {
        double megabytes = new FileInfo(dataPath).Length / 1e6;
        Dictionary<string, double> Rate(double ms) => new() { ["megabytesPerSecond"] = megabytes / (ms * 1e-3), ["fileMegabytes"] = megabytes };
        yield return new Benchmark("read_raw_" + name, () =>
        {
            using var stream = new FileStream(dataPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            var buffer = new byte[1 << 22];
            while (stream.Read(buffer) > 0) { }
        }, Rate);
        yield return new Benchmark("read_karma_" + name, () =>
        {
            using var scene = HyperspectralScene.Open(scenePath);
            var all = Enumerable.Range(0, scene.Bands).ToArray();
            var window = new float[scene.Bands * 64 * scene.Samples];
            for (int r = 0; r < scene.Lines; r += 64)
            {
                int rows = Math.Min(64, scene.Lines - r);
                scene.ReadWindow(r, 0, rows, scene.Samples, all, window.AsSpan(0, scene.Bands * rows * scene.Samples));
            }
        }, Rate);
    }

    /// <summary>An int16 ENVI scene (reflectance × 10000) of smooth spectra, written directly so gigabytes take seconds.</summary>
    public static string WriteInt16Envi(string directory, string name, int lines, int samples, int bands, string interleave)
    {
        Directory.CreateDirectory(directory);
        string header = Path.Combine(directory, name + ".hdr"), data = Path.Combine(directory, name + ".img");
        var wavelengths = Enumerable.Range(0, bands).Select(b => (420 + b * 2080.0 / bands).ToString("F2", System.Globalization.CultureInfo.InvariantCulture));
        File.WriteAllText(header, $"ENVI\nsamples = {samples}\nlines = {lines}\nbands = {bands}\nheader offset = 0\nfile type = ENVI Standard\n" +
                                  $"data type = 2\ninterleave = {interleave}\nbyte order = 0\nreflectance scale factor = 10000\n" +
                                  $"wavelength units = Nanometers\nwavelength = {{{string.Join(", ", wavelengths)}}}\n");
        using var stream = new FileStream(data, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var row = new short[(long)samples * bands > int.MaxValue ? throw new ArgumentException("row too large") : samples * bands];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan());
        // One line (BIP/BIL) or one band-line (BSQ) at a time; values vary smoothly with band, row and column.
        if (interleave == "bsq")
        {
            var line = new short[samples];
            for (int b = 0; b < bands; b++)
                for (int r = 0; r < lines; r++)
                {
                    for (int c = 0; c < samples; c++) line[c] = (short)(1500 + 800 * Math.Sin(0.01 * b + 0.003 * (r + c)));
                    stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(line.AsSpan()));
                }
        }
        else
            for (int r = 0; r < lines; r++)
            {
                for (int c = 0; c < samples; c++)
                    for (int b = 0; b < bands; b++) row[c * bands + b] = (short)(1500 + 800 * Math.Sin(0.01 * b + 0.003 * (r + c)));
                stream.Write(bytes);
            }
        return header;
    }

    /// <summary>The repository root: the first parent folder holding Karma.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Karma.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
