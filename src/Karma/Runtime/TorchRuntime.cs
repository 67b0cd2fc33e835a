using System.Runtime.InteropServices;
using TorchSharp;

namespace Karma.Runtime;

/// <summary>
/// Makes TorchSharp's native library loadable before anything touches <c>torch</c>, and reports the
/// native environment. On Linux, TorchSharp 0.107's <c>libLibTorchSharp.so</c> declares a need for
/// <c>GLIBCXX_3.4.32</c>; Debian 12 stops at 3.4.30, so the loader refuses it although the one symbol
/// under that version is never used. <see cref="EnsureLoaded"/> marks that need weak in the copies
/// next to the application (never the NuGet cache, never system files), loads the patched copy, and
/// runs one tensor operation, turning any failure into a single <see cref="KarmaException"/> that says
/// what to do. Every Karma entry point calls it; calling it again is free.
/// </summary>
public static class TorchRuntime
{
    /// <summary>The native bridge TorchSharp P/Invokes into.</summary>
    public const string NativeLibraryFile = "libLibTorchSharp.so";

    /// <summary>The needed version Debian 12's libstdc++ lacks and that the library never actually uses.</summary>
    public const string UnusedNeededVersion = "GLIBCXX_3.4.32";

    static readonly Lock Gate = new();
    static bool _loaded;

    /// <summary>Patches (once), loads and smoke-tests libtorch; throws <see cref="KarmaException"/> if it cannot.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            if (OperatingSystem.IsLinux())
            {
                var copies = FindNativeCopies();
                foreach (var path in copies) PatchInPlace(path);
                if (copies.Count > 0) TryPreload(copies[0]);
            }
            try
            {
                using var probe = torch.ones(2, 2).matmul(torch.ones(2, 2));
                if (probe.sum().item<float>() != 8f) throw new InvalidOperationException("libtorch computed a wrong 2×2 product");
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException
                                          or BadImageFormatException or InvalidOperationException or NotSupportedException)
            {
                throw new KarmaException(
                    "libtorch (TorchSharp's native library) could not be loaded: " + Innermost(e).Message + Environment.NewLine +
                    $"Karma patches {NativeLibraryFile} next to the application so it loads on Debian 12's libstdc++; " +
                    "check that the application folder is writable by you (or rebuild Karma as your user), " +
                    "that it runs on Linux x64 or Windows x64, and that the libtorch-cpu-linux-x64 2.10.0 package restored completely.", e);
            }
            _loaded = true;
        }
    }

    /// <summary>
    /// Marks <see cref="UnusedNeededVersion"/> weak in the library at <paramref name="path"/> if it is not already.
    /// The new bytes go to a temporary file that replaces the original by rename, so a reader never sees a
    /// half-written library. Returns true when the file was changed.
    /// </summary>
    public static bool PatchInPlace(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int changed;
        try { changed = ElfVersionNeeds.MarkWeak(bytes, UnusedNeededVersion); }
        catch (InvalidDataException e) { throw new KarmaException(path, "is not a readable ELF library: " + e.Message, e); }
        if (changed == 0) return false;

        string temp = path + $".karma-{Environment.ProcessId}.tmp";
        try
        {
            File.WriteAllBytes(temp, bytes);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            File.Delete(temp);
            throw new KarmaException(path,
                $"needs a one-time patch (mark {UnusedNeededVersion} weak) but cannot be written: {e.Message}. " +
                "Run Karma once as the owner of its folder, or copy the folder somewhere you can write.", e);
        }
        return true;
    }

    /// <summary>Where this application keeps copies of the native bridge: its folder, the RID folder, and TorchSharp's <c>cpu/</c> consolidation folder.</summary>
    static List<string> FindNativeCopies()
    {
        var roots = new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? "" }.Distinct();
        var found = new List<string>();
        foreach (var root in roots.Where(r => r.Length > 0))
            foreach (var sub in new[] { "", "runtimes/linux-x64/native", "cpu" })
            {
                string candidate = Path.GetFullPath(Path.Combine(root, sub, NativeLibraryFile));
                if (File.Exists(candidate) && !found.Contains(candidate)) found.Add(candidate);
            }
        return found;
    }

    /// <summary>Loads the patched file by path so TorchSharp's later load by name finds it already in the process.</summary>
    static void TryPreload(string path) => NativeLibrary.TryLoad(path, out _);

    static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
