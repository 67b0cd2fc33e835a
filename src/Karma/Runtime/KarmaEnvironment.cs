using System.Reflection;
using System.Runtime.Intrinsics.X86;
using TorchSharp;

namespace Karma.Runtime;

/// <summary>
/// What Karma runs on: its own version, TorchSharp's and libtorch's, the thread count, whether CUDA is
/// usable and which SIMD extensions the CPU offers (AVX-512 and AVX512-BF16 decide how fast training is).
/// Printed by <c>karma version --json</c> and stored with benchmark results so numbers can be compared.
/// </summary>
public sealed record KarmaEnvironment(
    string Karma, string TorchSharp, string Libtorch, int Threads, bool Cuda, string Simd,
    string Os, string Processor, int LogicalCores, string DotNet)
{
    /// <summary>Reads the environment; loads libtorch first (see <see cref="TorchRuntime.EnsureLoaded"/>).</summary>
    public static KarmaEnvironment Capture()
    {
        TorchRuntime.EnsureLoaded();
        return new KarmaEnvironment(
            Karma: InformationalVersion(typeof(KarmaEnvironment).Assembly),
            TorchSharp: InformationalVersion(typeof(torch).Assembly),
            Libtorch: string.Join('.', torch.__version__.Split('+')[0].Split('.').Take(3)),
            Threads: torch.get_num_threads(),
            Cuda: torch.cuda.is_available(),
            Simd: DescribeSimd(),
            Os: System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            Processor: ProcessorName(),
            LogicalCores: Environment.ProcessorCount,
            DotNet: Environment.Version.ToString());
    }

    /// <summary>The widest x86 vector extensions available, e.g. "AVX-512 (F, BW, VNNI, BF16)", "AVX2" or "none".</summary>
    public static string DescribeSimd()
    {
        if (Avx512F.IsSupported)
        {
            var parts = new List<string> { "F" };
            if (Avx512BW.IsSupported) parts.Add("BW");
            if (Avx512DQ.IsSupported) parts.Add("DQ");
            if (CpuFlags().Contains("avx512_vnni")) parts.Add("VNNI");
            if (CpuFlags().Contains("avx512_bf16")) parts.Add("BF16");
            return $"AVX-512 ({string.Join(", ", parts)})";
        }
        if (Avx2.IsSupported) return Fma.IsSupported ? "AVX2+FMA" : "AVX2";
        return System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? "NEON" : "none";
    }

    /// <summary>
    /// Whether the CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX-BF16). Without it libtorch emulates bf16,
    /// hundreds of times slower than fp32, so benchmarks skip it rather than time the emulation.
    /// </summary>
    public static bool NativeBfloat16 => CpuFlags() is var flags && (flags.Contains("avx512_bf16") || flags.Contains("amx_bf16"));

    static string InformationalVersion(Assembly a) =>
        (a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? a.GetName().Version?.ToString() ?? "unknown")
        .Split('+')[0];

    static HashSet<string> CpuFlags() => CpuInfoField("flags")?.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet() ?? [];

    static string ProcessorName() => CpuInfoField("model name") ?? System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();

    static string? CpuInfoField(string key)
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo)) return null;
        foreach (var line in File.ReadLines(cpuinfo))
        {
            int colon = line.IndexOf(':');
            if (colon > 0 && line[..colon].Trim() == key) return line[(colon + 1)..].Trim();
        }
        return null;
    }
}
