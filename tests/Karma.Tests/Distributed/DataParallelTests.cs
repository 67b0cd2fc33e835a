using System.Diagnostics;
using System.Text.Json;
using Karma.Data;
using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Distributed;

/// <summary>
/// Data-parallel pretraining over Open MPI (`mpirun -np 2`) and sharded inference. The MPI tests skip when mpirun is not
/// installed (.ci/run installs Open MPI when it runs as root).
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class DataParallelTests
{
    public DataParallelTests() => TorchRuntime.EnsureLoaded();

    static readonly string KarmaDll = Path.Combine(AppContext.BaseDirectory, "karma.dll");

    static string RequireMpirun()
    {
        string? found = Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);
        Assert.SkipWhen(found is null, "mpirun is not installed (Debian: openmpi-bin, libopenmpi3; .ci/run installs them as root); the data-parallel tests need it.");
        return found!;
    }

    static (int Code, string Output, string Error) Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        info.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        info.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        string error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4))) { process.Kill(entireProcessTree: true); Assert.Fail($"{program} {string.Join(' ', args)} hung"); }
        return (process.ExitCode, output.Result, error);
    }

    static (int, string, string) Mpi(int ranks, params string[] args) =>
        Run(RequireMpirun(), ["-np", ranks.ToString(), "--oversubscribe", "dotnet", KarmaDll, "--threads", "1", .. args]);

    [Fact]
    public void Two_ranks_sum_known_vectors_and_broadcast_rank_zeros()
    {
        var (code, output, error) = Mpi(2, "mpi-check");
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains('{')).Select(l => JsonDocument.Parse(l[l.IndexOf('{')..]).RootElement).ToList();
        Assert.Equal([0, 1], lines.Select(l => l.GetProperty("rank").GetInt32()).Order());
        Assert.All(lines, l =>
        {
            Assert.Equal(2, l.GetProperty("size").GetInt32());
            Assert.Equal([3f, 6f, 9f, 12f], l.GetProperty("summed").EnumerateArray().Select(v => v.GetSingle()));
            Assert.Equal([42f, 0f], l.GetProperty("broadcast").EnumerateArray().Select(v => v.GetSingle()));
        });
    }

    [Fact]
    public void Two_ranks_of_batch_b_train_as_one_process_of_batch_2b_keep_identical_weights_and_resume_on_one_rank()
    {
        // With the physics branch every other step, so that its parameters' zero gradients on the steps between are summed too.
        using var dir = new TempDir();
        string scene = new SceneSimulator { Size = 48, Bands = 16, Endmembers = 3, Seed = 5 }.Generate().WriteTo(dir.File("scene"));
        string[] common = ["--data", scene, "--tile-size", "16", "--patch-size", "4", "--encoder", "32x1x4", "--decoder", "32x1x4", "--endmembers", "3",
                           "--steps", "6", "--checkpoint-every", "3", "--physics-every", "2"];
        var (code, printed, error) = Mpi(2, ["pretrain", .. common, "--batch", "2", "--out", dir.File("two")]);
        Assert.True(code == 0, error);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(printed, "\"ranksAgree\""));   // the result printed once, by rank 0
        (code, _, error) = Run("dotnet", [KarmaDll, "--threads", "1", "pretrain", .. common, "--batch", "4", "--out", dir.File("one")]);
        Assert.True(code == 0, error);

        var two = JsonDocument.Parse(File.ReadAllText(dir.File("two/metrics.json"))).RootElement;
        Assert.Equal(2, two.GetProperty("ranks").GetInt32());
        Assert.True(two.GetProperty("ranksAgree").GetBoolean());                    // every rank ended with rank 0's weights
        var a = global::Karma.Training.TrainingRun.ReadLog(dir.File("two/train.jsonl"));
        var b = global::Karma.Training.TrainingRun.ReadLog(dir.File("one/train.jsonl"));
        Assert.Equal(6, a.Count);
        for (int i = 0; i < 6; i++) Assert.Equal(b[i].Loss, a[i].Loss, Math.Abs(b[i].Loss) * 1e-5);
        var (m2, _) = ModelCheckpoint.Load(dir.File("two"));
        var (m1, _) = ModelCheckpoint.Load(dir.File("one"));
        using (m1) using (m2)
        {
            var p1 = m1.state_dict();
            foreach (var (name, t) in m2.state_dict()) Assert.True(t.allclose(p1[name], rtol: 1e-4, atol: 2e-5), name);   // key biases get only rounding noise as gradient; Adam scales it up a little
        }

        // The two-rank run's checkpoint resumes in one process (with more steps to go).
        string spec = File.ReadAllText(dir.File("two/run.json"));
        File.WriteAllText(dir.File("two/run.json"), spec.Replace("\"steps\": 6", "\"steps\": 9"));
        (code, _, error) = Run("dotnet", [KarmaDll, "--threads", "1", "pretrain", "--resume", dir.File("two")]);
        Assert.True(code == 0, error);
        Assert.Equal(9, global::Karma.Training.TrainingRun.ReadLog(dir.File("two/train.jsonl")).Count);
    }

    /// <summary>Rank 0 of two: remembers what it broadcasts.</summary>
    sealed class Lead : ICommunicator
    {
        public readonly List<float[]> Sent = [];
        public int Rank => 0;
        public int Size => 2;
        public void Broadcast(Span<float> values) => Sent.Add(values.ToArray());
        public void SumInPlace(Span<float> values) { }
    }

    /// <summary>Rank 1 of two: receives what <see cref="Lead"/> sent, in order.</summary>
    sealed class Follower(List<float[]> sent) : ICommunicator
    {
        int next;
        public int Rank => 1;
        public int Size => 2;
        public void Broadcast(Span<float> values) => sent[next++].CopyTo(values);
        public void SumInPlace(Span<float> values) { }
    }

    [Fact]
    public void Other_ranks_receive_rank_zeros_final_metrics_exactly()
    {
        var metrics = new Karma.Evaluation.ReconstructionMetrics(31.123456789012345, 0.98765432101, 1.0 / 3, 0.0123456789, double.NaN, null,
                                                                 new Karma.Evaluation.TileMetrics(double.PositiveInfinity, 0.5, 2.0 / 7, 1e-9), 17, 3, 42);
        var lead = new Lead();
        Karma.Training.TrainingRun.SendToFollowers(lead, metrics);
        var received = Karma.Training.TrainingRun.ReceiveFromLead(new Follower(lead.Sent));
        Assert.Equal(metrics, received);                                          // every double to the last bit, NaN and ∞ included
        Assert.Equal(2, lead.Sent.Count);
        // A failed evaluation on rank 0 stops the others with an error instead of leaving them waiting.
        var failed = new Lead();
        Karma.Training.TrainingRun.SendToFollowers(failed, null);
        Assert.Single(failed.Sent);
        Assert.Throws<KarmaException>(() => Karma.Training.TrainingRun.ReceiveFromLead(new Follower(failed.Sent)));
    }

    [Fact]
    public void Shards_cover_every_scene_exactly_once_for_any_count()
    {
        var scenes = Enumerable.Range(0, 11).Select(i => $"/data/s{i % 4}/scene_{i:D2}.tif").Reverse().ToList();
        for (int n = 1; n <= 7; n++)
        {
            var all = Enumerable.Range(0, n).SelectMany(i => new SceneShards(i, n).Select(scenes)).ToList();
            Assert.Equal(scenes.Count, all.Count);
            Assert.Equal(scenes.Order(), all.Order());
        }
        Assert.ThrowsAny<KarmaException>(() => SceneShards.Parse("3/3"));
        Assert.Equal(new SceneShards(2, 5), SceneShards.Parse("2/5"));
        var names = SceneShards.OutputNames(["/a/x.tif", "/b/x.tif", "/c/y.mat:cube"]);
        Assert.Equal(["x", "x-2", "y_cube"], names.Values.Order());
    }

    [Fact]
    public void A_killed_shard_run_again_finishes_without_redoing_finished_outputs()
    {
        using var dir = new TempDir();
        var scenes = Enumerable.Range(0, 4).Select(i => new SceneSimulator { Size = 24, Bands = 8, Seed = 30 + i }.Generate().WriteTo(dir.File($"s{i}"))).ToArray();
        string output = dir.File("out");
        // A first run that stops early: only two scenes finished, and a half-made output folder of a third is left behind.
        var (code, _, error) = Run("dotnet", [KarmaDll, "anomaly", "--data", scenes[0], scenes[1], "--method", "rx", "--out", output]);
        Assert.True(code == 0, error);
        Directory.CreateDirectory(Path.Combine(output, "scene-3.tmp-99999"));
        var before = Directory.GetDirectories(output).Where(d => !d.Contains(".tmp-")).ToDictionary(d => d, d => Directory.GetLastWriteTimeUtc(d));
        Assert.Equal(2, before.Count);
        (code, var stdout, error) = Run("dotnet", [KarmaDll, "anomaly", "--data", .. scenes, "--method", "rx", "--out", output]);
        Assert.True(code == 0, error);
        Assert.Contains("2 written, 2 already done", stdout);
        Assert.Equal(4, Directory.GetDirectories(output).Count(d => !d.Contains(".tmp-")));
        foreach (var (path, time) in before) Assert.Equal(time, Directory.GetLastWriteTimeUtc(path));
    }
}
