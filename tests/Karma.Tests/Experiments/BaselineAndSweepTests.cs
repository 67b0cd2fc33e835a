using System.Diagnostics;
using System.Text.Json;
using Karma.Data;
using Karma.Evaluation;
using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Experiments;

[Collection(SerialTorchCollection.Name)]
public class BaselineAndSweepTests
{
    public BaselineAndSweepTests() => TorchRuntime.EnsureLoaded();

    static (int Code, string Output, string Error) Karma(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "karma.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd(), error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error);
    }

    [Fact]
    public void Every_tunable_setting_reaches_the_model_and_the_run_description()
    {
        using var dir = new TempDir();
        string scene = new SceneSimulator { Size = 32, Bands = 10, Seed = 3 }.Generate().WriteTo(dir.File("scene"));
        var (code, _, error) = Karma("pretrain", "--data", scene, "--tile-size", "16", "--patch-size", "4", "--steps", "2", "--endmembers", "3",
            "--loss-weights", "2,0.5,0.25", "--mask-ratio", "0.6", "--huber-delta", "0.5", "--encoder", "32x1x4", "--decoder", "16x1x2",
            "--per-patch-abundances", "--abundance-steps", "0", "--out", dir.File("run"));
        Assert.True(code == 0, error);
        var config = JsonDocument.Parse(File.ReadAllText(dir.File("run/run.json"))).RootElement.GetProperty("config");
        var saved = JsonDocument.Parse(File.ReadAllText(dir.File("run/checkpoint/model.json"))).RootElement.GetProperty("config");
        foreach (var c in new[] { config, saved })
        {
            Assert.Equal(2.0, c.GetProperty("huberWeight").GetDouble());
            Assert.Equal(0.5, c.GetProperty("samWeight").GetDouble());
            Assert.Equal(0.25, c.GetProperty("physicsWeight").GetDouble());
            Assert.Equal(0.6, c.GetProperty("maskRatio").GetDouble());
            Assert.Equal(0.5, c.GetProperty("huberDelta").GetDouble());
            Assert.Equal(32, c.GetProperty("encoderDim").GetInt32());
            Assert.Equal(1, c.GetProperty("encoderDepth").GetInt32());
            Assert.Equal(16, c.GetProperty("decoderDim").GetInt32());
            Assert.Equal(2, c.GetProperty("decoderHeads").GetInt32());
            Assert.False(c.GetProperty("perPixelAbundances").GetBoolean());
        }
        var (model, _) = ModelCheckpoint.Load(dir.File("run"));
        using (model) Assert.Equal(1, model.Config.EncoderDepth);
    }

    [Fact]
    public void A_sweep_of_two_mask_ratios_writes_two_rows_beside_the_floor()
    {
        using var dir = new TempDir();
        string scene = new SceneSimulator { Size = 32, Bands = 10, Seed = 3 }.Generate().WriteTo(dir.File("scene"));
        var (code, _, error) = Karma("compare", "--data", scene, "--tile-size", "16", "--patch-size", "4", "--steps", "2", "--endmembers", "3",
            "--sweep-mask-ratio", "0.5,0.9", "--baselines", "--out", dir.File("cmp"));
        Assert.True(code == 0, error);
        var table = File.ReadAllText(dir.File("cmp/comparison.md"));
        Assert.Contains("| karma-mask0.5 |", table);
        Assert.Contains("| karma-mask0.9 |", table);
        Assert.Contains("| interpolation |", table);
        Assert.Contains("| mae-adapter |", table);
        Assert.Contains("| mae-spectral-spatial |", table);
    }

    [Fact]
    public void The_interpolation_floor_copies_visible_patches_and_weights_the_rest_by_inverse_square_distance()
    {
        using var images = rand(2, 3, 4, 4);
        var none = TokenMasking.None(2, 4);
        Assert.Equal(0f, (InterpolationFloor.Reconstruct(images, none, 2) - Patches.Patchify(images, 2)).abs().max().item<float>());
        // 1×1 patches on a 2×2 tile, the top-left one hidden: its neighbours at distance 1, 1 and √2 weigh 1, 1 and ½.
        var tile = tensor(new float[] { 9, 1, 2, 4 }, 1, 1, 2, 2);
        var masking = new TokenMasking { Shuffle = tensor(new long[] { 1, 2, 3, 0 }).unsqueeze(0), Restore = tensor(new long[] { 3, 0, 1, 2 }).unsqueeze(0),
                                         Mask = tensor(new float[] { 1, 0, 0, 0 }).unsqueeze(0), Visible = 3 };
        var filled = InterpolationFloor.Reconstruct(tile, masking, 1).view(-1).data<float>().ToArray();
        Assert.Equal((1 * 1 + 1 * 2 + 0.5 * 4) / 2.5, filled[0], 5);
        Assert.Equal([1f, 2f, 4f], filled[1..]);
    }

    [Fact]
    public void The_spectral_adapter_baseline_runs_forward_and_backward()
    {
        using var model = OneBackwardPass(TestConfigs.Micro with { Variant = ModelVariant.Mae, SpectralEmbedding = SpectralEmbedding.Adapter, SpectralDim = 8, Bands = 24 }, out _);
        var adapter = model.named_parameters().Where(p => p.name.StartsWith("spectralAdapter")).ToList();
        Assert.NotEmpty(adapter);
        Assert.All(adapter, p => Assert.True(p.parameter.grad is { } g && g.abs().sum().item<float>() > 0, p.name));
    }
    /// <summary>A model of <paramref name="config"/> after one masked forward pass on random tiles (whose reconstruction must have the tiles' shape) and its backward pass.</summary>
    static KarmaModel OneBackwardPass(KarmaConfig config, out Tensor tiles)
    {
        var model = new KarmaModel(config);
        tiles = rand(2, config.Bands, 16, 16);
        using var output = model.call(tiles, null, model.SampleMasking(2));
        Assert.Equal(new long[] { 2, 16, 16 * config.Bands }, output.Reconstruction.shape);
        using var loss = KarmaLoss.Compute(output, model.Targets(tiles), config);
        loss.Total.backward();
        return model;
    }

    static KarmaConfig SpectralSpatial(int bands, int groups) =>
        TestConfigs.Micro with { Variant = ModelVariant.Mae, SpectralEmbedding = SpectralEmbedding.SpectralSpatial, SpectralGroups = groups, Bands = bands };

    [Fact]
    public void The_spectral_spatial_baseline_runs_forward_and_backward_with_padded_band_groups()
    {
        var config = SpectralSpatial(bands: 23, groups: 4);            // 6 bands per group, the last padded by one
        Assert.Equal(6, config.BandsPerGroup);
        using var model = OneBackwardPass(config, out var x);
        foreach (var (name, parameter) in model.named_parameters())
            Assert.True(parameter.grad is { } g && g.abs().sum().item<float>() > 0, name);
        // Per-patch features keep the shape every readout expects, the mean over a patch's band groups.
        using var features = model.EncodeAll(x, null);
        Assert.Equal(new long[] { 2, 16, config.EncoderDim }, features.shape);
    }

    [Fact]
    public void A_masked_patch_hides_every_band_group_and_a_visible_one_is_seen()
    {
        using var model = new KarmaModel(SpectralSpatial(bands: 12, groups: 3));
        model.eval();
        var x = rand(1, 12, 16, 16);
        using var generator = new Generator().manual_seed(3);
        var masking = model.SampleMasking(1, generator);
        var mask = masking.Mask[0].data<float>().ToArray();
        int hidden = Array.IndexOf(mask, 1f), seen = Array.IndexOf(mask, 0f);
        Tensor Changed(int token)
        {
            var y = x.clone();
            int row = token / 4 * 4, col = token % 4 * 4;                   // 4×4 patches on a 4×4 grid
            y[.., .., row..(row + 4), col..(col + 4)] += 5f;                 // every band of that patch
            return y;
        }
        using var _ = no_grad();
        using var reference = model.call(x, null, masking);
        using var afterHidden = model.call(Changed(hidden), null, masking);
        using var afterSeen = model.call(Changed(seen), null, masking);
        Assert.Equal(0f, (afterHidden.Reconstruction - reference.Reconstruction).abs().max().item<float>());
        Assert.True((afterSeen.Reconstruction - reference.Reconstruction).abs().max().item<float>() > 1e-4f);
    }

    [Fact]
    public void Spectral_spatial_positions_concatenate_the_patch_and_the_band_group()
    {
        using var positions = PositionEmbedding.SpectralSpatial(32, grid: 2, groups: 3);
        using var spatial = PositionEmbedding.SineCosine2D(24, 2);
        Assert.Equal(new long[] { 12, 32 }, positions.shape);
        for (int n = 0; n < 4; n++)
            for (int g = 0; g < 3; g++)
            {
                Assert.True(positions[n * 3 + g, ..24].allclose(spatial[n]));
                // Group g's last quarter: sin(g·ω_k), cos(g·ω_k) with ω_0 = 1.
                Assert.Equal(Math.Sin(g), positions[n * 3 + g, 24].item<float>(), 5);
                Assert.Equal(Math.Cos(g), positions[n * 3 + g, 28].item<float>(), 5);
            }
        Assert.Throws<InvalidSettingException>(() => PositionEmbedding.SpectralSpatial(24, 2, 3));
    }
}
