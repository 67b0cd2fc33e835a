using System.Diagnostics;
using Karma.Data;
using Karma.Model;
using Karma.Runtime;

namespace Karma.Tests.Reliability;

/// <summary>
/// Writes on a full file system: a small tmpfs mounted for the test (root only; skipped with a message elsewhere). Every
/// writer must fail with one line naming its target, remove its temporary files, and leave what was there before intact.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class DiskFullTests
{
    sealed class SmallFileSystem : IDisposable
    {
        public string Path { get; }

        SmallFileSystem(string path) => Path = path;

        public static SmallFileSystem? Mount(string path, int kilobytes)
        {
            Directory.CreateDirectory(path);
            if (Environment.UserName != "root" || !File.Exists("/bin/mount")) return null;
            return Run("/bin/mount", $"-t tmpfs -o size={kilobytes}k tmpfs {path}") ? new SmallFileSystem(path) : null;
        }

        static bool Run(string file, string arguments)
        {
            try
            {
                using var p = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
                p.WaitForExit();
                return p.ExitCode == 0;
            }
            catch (System.ComponentModel.Win32Exception) { return false; }
        }

        /// <summary>Fills what is left with one file, so the next write of any size fails.</summary>
        public void Fill()
        {
            using var filler = new FileStream(System.IO.Path.Combine(Path, "filler"), FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            var block = new byte[64 * 1024];
            try { while (true) filler.Write(block); }
            catch (IOException) { }
            try { while (true) filler.Write(block.AsSpan(0, 1)); }          // down to the last byte
            catch (IOException) { }
        }

        public void Dispose() => Run("/bin/umount", $"-l {Path}");
    }

    static string[] Leftovers(string directory) =>
        Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Where(p => p.Contains(".tmp-") || p.Contains(".old-")).ToArray();

    [Fact]
    public void Scenes_and_checkpoints_fail_in_one_line_and_leave_the_previous_ones_intact()
    {
        TorchRuntime.EnsureLoaded();
        using var dir = new TempDir();
        using var fs = SmallFileSystem.Mount(dir.File("small"), 2048);
        Assert.SkipWhen(fs is null, "mounting a small tmpfs needs root (and mount); the disk-full test is skipped.");
        string scene = Path.Combine(fs!.Path, "scene.hdr");

        // A scene that fits, then one four times the free space at the same name.
        var small = Enumerable.Range(0, 10 * 40 * 40).Select(i => (float)i).ToArray();
        SceneWriter.Write(scene, 40, 40, 10, small);
        var before = File.ReadAllBytes(Path.ChangeExtension(scene, ".img"));
        var large = new float[100 * 100 * 200];
        var e = Assert.Throws<SceneFileException>(() => SceneWriter.Write(scene, 100, 100, 200, large));
        Assert.Contains("scene.img", e.Message);
        Assert.Contains("No space left on device", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(before, File.ReadAllBytes(Path.ChangeExtension(scene, ".img")));
        Assert.Empty(Leftovers(fs.Path));
        var text = Assert.ThrowsAny<KarmaException>(() => AtomicFiles.WriteText(Path.Combine(fs.Path, "big.txt"), new string('x', 8 << 20)));
        Assert.Contains("big.txt", text.Message);
        Assert.False(File.Exists(Path.Combine(fs.Path, "big.txt")));

        // A checkpoint that fits, then the disk filled and the checkpoint written again.
        using var model = new KarmaModel(TestConfigs.Micro);
        string checkpoint = Path.Combine(fs.Path, "ckpt");
        ModelCheckpoint.Save(model, checkpoint);
        string weights = ModelCheckpoint.Sha256(Path.Combine(checkpoint, ModelCheckpoint.WeightsFile));
        fs.Fill();
        var c = Assert.Throws<RunFolderException>(() => ModelCheckpoint.Save(model, checkpoint));
        Assert.Contains("ckpt", c.Message);
        Assert.Contains("previous checkpoint", c.Message);
        Assert.Equal(weights, ModelCheckpoint.Sha256(Path.Combine(checkpoint, ModelCheckpoint.WeightsFile)));
        var (loaded, _) = ModelCheckpoint.Load(checkpoint);
        loaded.Dispose();
        Assert.Empty(Leftovers(fs.Path));
    }
}
