using System.Diagnostics;
using Karma.Data;
using Karma.Downstream;
using Karma.Experiments;
using Karma.Model;
using Karma.Runtime;
using Karma.Training;
using Karma.Unmixing;

namespace Karma.Tests.Reliability;

/// <summary>Bad input of every kind ends in one line naming the file or option, never a stack trace or a half-made output.</summary>
[Collection(SerialTorchCollection.Name)]
public class InputValidationTests
{
    public InputValidationTests() => TorchRuntime.EnsureLoaded();

    static (int Code, string Error) Karma(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "karma.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, error);
    }

    [Theory]
    [InlineData("--batch", "0")]
    [InlineData("--steps", "-5")]
    [InlineData("--lr", "NaN")]
    [InlineData("--endmembers", "1")]
    [InlineData("--mask-ratio", "1")]
    [InlineData("--physics-share", "0")]
    [InlineData("--physics-share", "1.5")]
    [InlineData("--physics-every", "0")]
    public void Numeric_options_out_of_range_are_refused_before_any_output_is_made(string option, string value)
    {
        using var dir = new TempDir();
        var (code, error) = Karma("pretrain", option, value, "--out", dir.File("run"));
        Assert.Equal(1, code);
        Assert.StartsWith($"karma: error: {option} must be", error.Trim());
        Assert.Single(error.Trim().Split('\n'));
        Assert.False(Directory.Exists(dir.File("run")));
    }

    [Fact]
    public void Metrics_refuse_a_data_range_that_is_not_positive()
    {
        string reference = Shared.Require("reference/metrics_0_reference.hdr"), estimate = Shared.Require("reference/metrics_0_estimate.hdr");
        foreach (var range in new[] { "0", "-1", "NaN" })
        {
            var (code, error) = Karma("metrics", "--reference", reference, "--estimate", estimate, "--data-range", range);
            Assert.Equal(1, code);
            Assert.Contains("--data-range must be a positive number", error);
        }
    }

    [Fact]
    public void A_run_folder_in_use_is_refused_and_a_released_lock_is_taken_over()
    {
        using var dir = new TempDir();
        using (TrainingRun.Lock(dir.Path))
        {
            var e = Assert.Throws<RunFolderException>(() => TrainingRun.Lock(dir.Path));
            Assert.StartsWith(dir.Path, e.Message);
            Assert.Contains("in use by another karma process", e.Message);
        }
        using (TrainingRun.Lock(dir.Path)) { }                      // the lock file stays behind; the lock itself is gone
        Assert.True(File.Exists(Path.Combine(dir.Path, "run.lock")));
        File.WriteAllText(dir.File("a-file"), "x");
        Assert.Contains("is a file", Assert.Throws<RunFolderException>(() => TrainingRun.Start(Spec(dir), dir.File("a-file"))).Message);
    }

    static RunSpec Spec(TempDir dir) => new()
    {
        Config = TestConfigs.Micro with { Variant = ModelVariant.Mae },
        Data = [new SceneSimulator { Size = 32, Bands = 8, Seed = 1 }.Generate().WriteTo(dir.File("scene"))],
        Tiling = new TilingOptions { TileSize = 16, Stride = 8 },
        Training = new TrainingOptions { Steps = 4, BatchSize = 2, CheckpointEvery = 2 },
    };

    [Fact]
    public void Damaged_training_state_is_refused_with_the_file_named_in_one_line()
    {
        using var dir = new TempDir();
        var spec = Spec(dir);
        TrainingRun.Start(spec, dir.File("run"));
        string checkpoint = dir.File("run/checkpoint"), state = Path.Combine(checkpoint, "trainer.json"), moments = Path.Combine(checkpoint, "optimizer.bin");
        string original = File.ReadAllText(state);

        File.WriteAllText(state, original[..(original.Length / 2)]);                               // truncated
        var e = Assert.Throws<RunFolderException>(() => TrainingRun.Resume(dir.File("run")));
        Assert.StartsWith(state, e.Message);

        File.WriteAllText(state, original.Replace("\"Step\":4", "\"Step\":-3"));                  // impossible step
        Assert.Contains("step -3", Assert.ThrowsAny<KarmaException>(() => TrainingRun.Resume(dir.File("run"))).Message);

        File.WriteAllText(state, original);
        var bytes = File.ReadAllBytes(moments);
        new Random(1).NextBytes(bytes.AsSpan(bytes.Length / 3, 64));                                 // damaged moments
        File.WriteAllBytes(moments, bytes);
        e = Assert.Throws<RunFolderException>(() => TrainingRun.Resume(dir.File("run")));
        Assert.StartsWith(moments, e.Message);
        Assert.DoesNotContain("\n", e.Message);
        Assert.True(e.Message.Length < 400);

        var weights = Path.Combine(checkpoint, "weights.bin");
        bytes = File.ReadAllBytes(weights);
        bytes[100] ^= 0xFF;
        File.WriteAllBytes(weights, bytes);
        Assert.Contains("damaged", Assert.ThrowsAny<KarmaException>(() => ModelCheckpoint.Load(dir.File("run"))).Message);
    }

    [Fact]
    public void A_checkpoint_with_an_unknown_preset_is_refused()
    {
        using var dir = new TempDir();
        using (var model = new KarmaModel(TestConfigs.Micro)) ModelCheckpoint.Save(model, dir.File("ckpt"));
        string meta = dir.File("ckpt/model.json");
        File.WriteAllText(meta, File.ReadAllText(meta).Replace("\"preset\": \"tiny\"", "\"preset\": \"gigantic\""));
        Assert.Contains("unknown preset 'gigantic'", Assert.Throws<RunFolderException>(() => ModelCheckpoint.Load(dir.File("ckpt"))).Message);
    }

    [Fact]
    public void Label_maps_of_several_bands_or_negative_classes_are_refused()
    {
        using var dir = new TempDir();
        SceneWriter.Write(dir.File("three.hdr"), 4, 4, 3, new float[48]);
        Assert.Contains("has 3 bands", Assert.Throws<SceneFileException>(() => LabelMap.Read(dir.File("three.hdr"), 4, 4)).Message);
        SceneWriter.Write(dir.File("negative.hdr"), 4, 4, 1, Enumerable.Range(0, 16).Select(i => i == 5 ? -2f : 1f).ToArray());
        Assert.Contains("class number -2", Assert.ThrowsAny<KarmaException>(() => LabelMap.Read(dir.File("negative.hdr"), 4, 4)).Message);
    }

    [Theory]
    [InlineData(0, "no labelled pixel")]
    [InlineData(3, "a single class")]
    public void A_probe_on_labels_of_fewer_than_two_classes_is_refused(int label, string what)
    {
        // An all-zero map (everything unlabelled) once reached libtorch's argmax; a single class once scored OA 100%, κ 1.
        using var dir = new TempDir();
        var simulated = new SceneSimulator { Size = 16, Bands = 8, Seed = 2 }.Generate();
        using var scene = HyperspectralScene.Open(simulated.WriteTo(dir.File("scene")));
        var cube = ReflectanceCube.Read(scene, new TilingOptions { TileSize = 16 });
        using var model = new KarmaModel(TestConfigs.Micro with { Bands = 8 });
        var labelled = new LabelledScene(cube, Enumerable.Repeat(label, 16 * 16).ToArray());
        var e = Assert.Throws<InvalidSettingException>(() => ProbeExperiment.Run(model, [labelled], new ProbeOptions(new FeatureRecipe())));
        Assert.Contains(what, e.Message);
        Assert.Contains("at least two classes", e.Message);
    }

    [Fact]
    public void VCA_takes_its_low_SNR_branch_without_failing()
    {
        // Pure noise: the SNR estimate falls below 15 + 10·log10(M) and VCA projects with PCA plus a constant dimension.
        var random = new Random(1);
        var pixels = new float[30, 500];
        for (int b = 0; b < 30; b++) for (int i = 0; i < 500; i++) pixels[b, i] = (float)(0.3 + random.NextDouble());
        var (endmembers, indices) = VertexComponentAnalysis.Extract(pixels, 4, 0);
        Assert.Equal(4, indices.Distinct().Count());
        Assert.Equal(pixels[7, indices[2]], endmembers[7, 2]);
    }

    [Fact]
    public void Messages_are_one_line_whatever_they_quote()
    {
        var e = new KarmaException("scene.hdr", "bad value 'a\nb\u0001c'");
        Assert.Equal("scene.hdr: bad value 'a b?c'", e.Message);
        Assert.Equal("first line…", KarmaException.Quote("first line of a long text\nsecond", 10));
    }
}
