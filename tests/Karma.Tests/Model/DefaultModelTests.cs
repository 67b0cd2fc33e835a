using Karma.Data;
using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Model;

/// <summary>The shipped default model: present, intact, and giving the same outputs it gave when it was committed.</summary>
public class DefaultModelTests
{
    public DefaultModelTests() => TorchRuntime.EnsureLoaded();

    /// <summary>A fixed 32×32 tile of 50 bands (400–2400 nm) whose spectra vary smoothly in space.</summary>
    static (Tensor Tile, SpectralBands Bands) FixedInput()
    {
        var bands = new SpectralBands(Enumerable.Range(0, 50).Select(i => 400 + 2000.0 * i / 49).ToArray(), Enumerable.Repeat(12.0, 50).ToArray());
        var values = new float[50 * 32 * 32];
        for (int b = 0; b < 50; b++)
            for (int r = 0; r < 32; r++)
                for (int c = 0; c < 32; c++)
                    values[(b * 32 + r) * 32 + c] = (float)(0.15 + 0.1 * Math.Sin(bands.Centres[b] / 300 + (r + c) / 20.0) + 0.05 * (b > 20 ? 1 : 0) * r / 32.0);
        return (tensor(values, 1, 50, 32, 32), bands);
    }

    [Fact]
    public void The_default_model_loads_and_gives_its_recorded_outputs()
    {
        Assert.True(DefaultModel.Available, "this build carries no default model (models/default)");
        var (model, meta) = ModelCheckpoint.Load(DefaultModel.Folder());
        using (model)
        {
            Assert.True(meta.Config.ByWavelength);
            Assert.Equal("float16", meta.WeightsType);
            Assert.Equal(meta.WeightsSha256, ModelCheckpoint.Sha256(Path.Combine(DefaultModel.Folder(), ModelCheckpoint.WeightsFile)));
            var (tile, bands) = FixedInput();
            using var _ = no_grad();
            using var features = model.EncodeAll(tile, bands);
            using var abundances = model.Abundances(tile, bands);
            using var output = model.call(tile, bands, TokenMasking.None(1, model.Config.Tokens));
            double featureMean = features.mean().item<float>(), featureStd = features.std().item<float>();
            double abundance = abundances[0, 0].mean().item<float>();
            double reconstruction = output.Reconstruction.mean().item<float>();
            Assert.Equal(ExpectedFeatureMean, featureMean, 1e-3);
            Assert.Equal(ExpectedFeatureStd, featureStd, 1e-3);
            Assert.Equal(ExpectedAbundance, abundance, 1e-3);
            Assert.Equal(ExpectedReconstruction, reconstruction, 1e-3);
            var token = features[0, 5, ..4].data<float>().ToArray();
            for (int k = 0; k < 4; k++) Assert.Equal(ExpectedToken5[k], token[k], 2e-3);
        }
    }

    // Recorded from the committed default model (models/default, weights SHA-256 in its model.json).
    const double ExpectedFeatureMean = -0.0029795803, ExpectedFeatureStd = 0.99462754, ExpectedAbundance = 0.48506296, ExpectedReconstruction = 0.10418248;
    static readonly float[] ExpectedToken5 = [-0.89664197f, 1.132816f, -0.8394877f, -1.0724612f];

    [Fact]
    public void A_damaged_copy_of_the_default_model_is_refused_with_the_file_named()
    {
        using var dir = new TempDir();
        string copy = dir.File("default");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(DefaultModel.Folder())) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        string weights = Path.Combine(copy, ModelCheckpoint.WeightsFile);
        var bytes = File.ReadAllBytes(weights);
        bytes[bytes.Length / 2] ^= 0x5A;
        File.WriteAllBytes(weights, bytes);
        var e = Assert.ThrowsAny<KarmaException>(() => ModelCheckpoint.Load(copy));
        Assert.StartsWith(weights, e.Message);
        Assert.Contains("damaged", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Commands_without_a_checkpoint_use_the_default_model()
    {
        Assert.Equal(DefaultModel.Folder(), DefaultModel.Resolve(null));
        Assert.Equal("/some/run", DefaultModel.Resolve("/some/run"));
    }
}
