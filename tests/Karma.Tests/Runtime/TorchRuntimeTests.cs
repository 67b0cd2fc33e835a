using Karma.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Karma.Tests.Runtime;

/// <summary>Proves libtorch really loads and computes here, and that the loader's patch is safe to repeat.</summary>
public class TorchRuntimeTests
{
    public TorchRuntimeTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Matmul_matches_hand_computed_product()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        using var b = tensor(new float[] { 7, 8, 9, 10, 11, 12 }, 3, 2);
        using var c = a.matmul(b);
        // [1 2 3; 4 5 6]·[7 8; 9 10; 11 12] = [58 64; 139 154]
        Assert.Equal(new float[] { 58, 64, 139, 154 }, c.data<float>().ToArray());
    }

    [Fact]
    public void Autograd_gives_the_analytic_gradient()
    {
        // y = Σ x³ + 2·x₀x₁, so ∂y/∂x₀ = 3x₀² + 2x₁ and ∂y/∂x₁ = 3x₁² + 2x₀.
        using var x = tensor(new double[] { 1.5, -2.0 }, requires_grad: true);
        using var y = x.pow(3).sum() + 2 * x[0] * x[1];
        y.backward();
        var g = x.grad!.data<double>().ToArray();
        Assert.Equal(3 * 1.5 * 1.5 + 2 * -2.0, g[0], 12);
        Assert.Equal(3 * 4.0 + 2 * 1.5, g[1], 12);
    }

    [Fact]
    public void Loaded_bridge_has_the_unused_version_marked_weak()
    {
        var copy = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", TorchRuntime.NativeLibraryFile);
        Assert.SkipUnless(OperatingSystem.IsLinux() && File.Exists(copy), "only Linux builds carry libLibTorchSharp.so");
        var entry = Assert.Single(ElfVersionNeeds.Read(File.ReadAllBytes(copy)), e => e.Version == TorchRuntime.UnusedNeededVersion);
        Assert.True(entry.IsWeak);
        Assert.Equal("libstdc++.so.6", entry.File);
        // Every other needed version keeps its flags: only the one entry is touched.
        Assert.All(ElfVersionNeeds.Read(File.ReadAllBytes(copy)).Where(e => e.Version != TorchRuntime.UnusedNeededVersion),
                   e => Assert.False(e.IsWeak));
    }

    [Fact]
    public void Patch_is_idempotent_and_changes_only_the_flag_bytes()
    {
        var original = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", TorchRuntime.NativeLibraryFile);
        Assert.SkipUnless(File.Exists(original), "only Linux builds carry libLibTorchSharp.so");
        var bytes = File.ReadAllBytes(original);
        var entry = ElfVersionNeeds.Read(bytes).Single(e => e.Version == TorchRuntime.UnusedNeededVersion);
        bytes[entry.FlagsOffset] &= unchecked((byte)~ElfVersionNeeds.WeakFlag); // as shipped in the package

        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, TorchRuntime.NativeLibraryFile);
        File.WriteAllBytes(path, bytes);

        Assert.True(TorchRuntime.PatchInPlace(path));
        var once = File.ReadAllBytes(path);
        var stamp = File.GetLastWriteTimeUtc(path);
        Assert.False(TorchRuntime.PatchInPlace(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
        Assert.Equal(once, File.ReadAllBytes(path));

        var differing = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != once[i]).ToArray();
        Assert.Equal([(int)entry.FlagsOffset], differing);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void Package_cache_copy_is_left_untouched()
    {
        var home = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var cached = Path.Combine(home, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", TorchRuntime.NativeLibraryFile);
        Assert.SkipUnless(File.Exists(cached), $"no TorchSharp package cache at {cached}");
        var entry = ElfVersionNeeds.Read(File.ReadAllBytes(cached)).Single(e => e.Version == TorchRuntime.UnusedNeededVersion);
        Assert.False(entry.IsWeak);
    }

    [Fact]
    public void Non_elf_input_is_rejected_with_the_file_name()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "libfake.so");
        File.WriteAllText(path, "not a library");
        var e = Assert.ThrowsAny<KarmaException>(() => TorchRuntime.PatchInPlace(path));
        Assert.Equal(path, e.Path);
        Assert.Contains("ELF", e.Message);
    }

    [Fact]
    public void Environment_reports_libtorch_2_10()
    {
        var env = KarmaEnvironment.Capture();
        Assert.Equal("2.10.0", env.Libtorch);
        Assert.Equal("0.107.0", env.TorchSharp);
        Assert.True(env.Threads >= 1);
    }
}
