using System.Diagnostics;
using Karma.Training;

namespace Karma.Tests.Reliability;

/// <summary>
/// The real thing: <c>karma pretrain</c> as a separate process, killed with SIGKILL mid-run, then resumed. The
/// resumed run must end with the same loss log and weights as an uninterrupted process.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class KillResumeTests
{
    static readonly string Karma = Path.Combine(AppContext.BaseDirectory, "karma.dll");

    static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Karma);
        info.ArgumentList.Add("--threads");
        info.ArgumentList.Add("1");
        foreach (var a in args) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    static void Finish(Process process)
    {
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "karma did not finish");
        Assert.Equal(0, process.ExitCode);
    }

    [Fact]
    public void A_killed_pretrain_process_resumes_to_the_uninterrupted_result()
    {
        using var dir = new TempDir();
        dir.Simulate(size: 40, bands: 16, seed: 2).Dispose();
        string[] run = ["pretrain", "--data", dir.File("scene.hdr"), "--preset", "tiny", "--tile-size", "16", "--patch-size", "4", "--stride", "8",
                        "--steps", "60", "--batch", "4", "--checkpoint-every", "10", "--seed", "3"];
        Finish(Start([.. run, "--out", dir.File("whole")]));

        var victim = Start([.. run, "--out", dir.File("killed")]);
        string log = dir.File("killed/train.jsonl");
        var watch = Stopwatch.StartNew();
        while (!(File.Exists(dir.File("killed/checkpoint/trainer.json")) && File.Exists(log) && File.ReadLines(log).Count() >= 25) && !victim.HasExited)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2), "the run never reached step 25");
            Thread.Sleep(20);
        }
        Assert.False(victim.HasExited, "the run finished before it could be killed; give it more steps");
        victim.Kill(entireProcessTree: true); // SIGKILL: no chance to clean up
        victim.WaitForExit();
        Assert.True(TrainingRun.ReadLog(log).Count < 60);

        Finish(Start("pretrain", "--resume", dir.File("killed")));
        var a = TrainingRun.ReadLog(dir.File("whole/train.jsonl"));
        var b = TrainingRun.ReadLog(log);
        Assert.Equal(a.Select(r => (r.Step, r.Loss, r.GradNorm)), b.Select(r => (r.Step, r.Loss, r.GradNorm)));
        Assert.Equal(File.ReadAllBytes(dir.File("whole/checkpoint/weights.bin")), File.ReadAllBytes(dir.File("killed/checkpoint/weights.bin")));
        // Whatever the kill left half-written was cleared away by the resume.
        Assert.DoesNotContain(Directory.GetFileSystemEntries(dir.File("killed")), e => e.Contains(".tmp-") || e.Contains(".old-"));
    }
}
