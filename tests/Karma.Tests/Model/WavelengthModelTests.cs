using Karma.Data;
using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Model;

/// <summary>A wavelength-aware model: any band set, any band order, endmembers on the fine grid.</summary>
public class WavelengthModelTests
{
    public WavelengthModelTests() => TorchRuntime.EnsureLoaded();

    static KarmaConfig Config(ModelVariant variant = ModelVariant.Karma) => TestConfigs.Micro with
    {
        Variant = variant, SpectralEmbedding = SpectralEmbedding.Wavelength, SpectralDim = 8, Bands = 20,
    };

    static SpectralBands Even(int count, double from = 420, double to = 2400, double? fwhm = null) =>
        new(Enumerable.Range(0, count).Select(i => from + (to - from) * i / (count - 1)).ToArray(),
            fwhm is { } w ? Enumerable.Repeat(w, count).ToArray() : null, "test");

    /// <summary>Tiles whose spectra are smooth functions of wavelength, so the same "scene" can be seen by any sensor.</summary>
    static Tensor Tiles(SpectralBands bands, int batch, int seed)
    {
        var random = new Random(seed);
        var values = new float[batch * bands.Count * 16 * 16];
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < 256; p++)
            {
                double a = random.NextDouble(), c = random.NextDouble();
                for (int k = 0; k < bands.Count; k++)
                    values[((b * bands.Count + k) * 256) + p] = (float)(0.1 + 0.3 * a * Math.Sin(bands.Centres[k] / 300) + 0.2 * c);
            }
        return tensor(values, batch, bands.Count, 16, 16);
    }

    [Fact]
    public void Permuting_the_bands_with_their_wavelengths_does_not_change_the_output()
    {
        manual_seed(3);
        using var model = new KarmaModel(Config());
        model.eval();
        var bands = Even(20, fwhm: 12);
        var permutation = Enumerable.Range(0, 20).ToArray();
        new Random(5).Shuffle(permutation);
        var shuffled = bands.Select(permutation);
        using var _ = no_grad();
        var x = Tiles(bands, 2, seed: 1);
        var xs = x.index_select(1, tensor(permutation.Select(i => (long)i).ToArray()));
        Assert.True(model.EncodeAll(x, bands).allclose(model.EncodeAll(xs, shuffled), rtol: 1e-4, atol: 1e-5));
        using var g1 = new Generator(9);
        using var g2 = new Generator(9);
        using var a = model.call(x, bands, model.SampleMasking(2, g1));
        using var b = model.call(xs, shuffled, model.SampleMasking(2, g2));
        // The reconstruction comes back in each input's band order: permuting one gives the other.
        var ra = Patches.Unpatchify(a.Reconstruction, 4, 20).index_select(1, tensor(permutation.Select(i => (long)i).ToArray()));
        Assert.True(ra.allclose(Patches.Unpatchify(b.Reconstruction, 4, 20), rtol: 1e-4, atol: 1e-5));
        Assert.True(a.Abundances!.allclose(b.Abundances!, rtol: 1e-4, atol: 1e-6));
    }

    [Theory]
    [InlineData(SpectralEmbedding.Wavelength, 4)]
    [InlineData(SpectralEmbedding.Wavelength, 8)]   // the token-cutting kernel underneath
    [InlineData(SpectralEmbedding.Fixed, 8)]
    public void The_encoder_input_equals_the_spectral_features_cut_into_patches(SpectralEmbedding embedding, int patch)
    {
        manual_seed(4);
        using var model = new KarmaModel(Config() with { SpectralEmbedding = embedding, PatchSize = patch });
        var bands = Even(20, fwhm: 12);
        model.SetBandStatistics(Enumerable.Range(0, model.BandMean.Length).Select(i => 0.2f + 0.001f * i).ToArray(),
                                Enumerable.Range(0, model.BandMean.Length).Select(i => 0.1f + 0.002f * i).ToArray());
        var x = Tiles(bands, 2, seed: 2);
        var context = model.Context(bands, 20);
        var keep = TokenMasking.Sample(2, model.Config.Tokens, 2).Shuffle[.., ..2];
        var all = Patches.Patchify(model.SpectralFeatures(x, bands), patch);
        Assert.True(model.PatchFeatures(x, context).allclose(all, rtol: 1e-5, atol: 1e-6));
        Assert.True(model.PatchFeatures(x, context, keep).allclose(TokenMasking.Take(all, keep), rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void One_checkpoint_reads_several_band_counts()
    {
        using var dir = new TempDir();
        manual_seed(4);
        using (var model = new KarmaModel(Config())) ModelCheckpoint.Save(model, dir.File("ckpt"));
        var (loaded, meta) = ModelCheckpoint.Load(dir.File("ckpt"));
        using (loaded)
        {
            Assert.True(meta.Config.ByWavelength);
            using var _ = no_grad();
            foreach (var (count, from, to) in new[] { (64, 400.0, 1000.0), (103, 430.0, 860.0), (156, 401.0, 889.0), (218, 418.0, 2445.0), (224, 366.0, 2496.0) })
            {
                var bands = Even(count, from, to);
                using var output = loaded.call(Tiles(bands, 1, count), bands, loaded.SampleMasking(1));
                Assert.Equal(new long[] { 1, 16, 16 * count }, output.Reconstruction.shape);
                Assert.Equal(new long[] { count, 3 }, output.Endmembers!.shape);
                Assert.False(output.Reconstruction.isnan().any().item<bool>());
            }
        }
    }

    [Fact]
    public void A_wavelength_model_needs_the_bands_described()
    {
        using var model = new KarmaModel(Config());
        var e = Assert.Throws<BandMismatchException>(() => model.call(rand(1, 20, 16, 16), null, model.SampleMasking(1)));
        Assert.Contains("wavelength file", e.Message);
        Assert.Equal(["Wavelengths", "Sensor"], e.Settings);
        Assert.ThrowsAny<KarmaException>(() => model.call(rand(1, 20, 16, 16), Even(19), model.SampleMasking(1)));
    }

    [Fact]
    public void The_Gaussian_response_of_a_known_spectrum_matches_the_hand_computed_value()
    {
        // On the grid, a spectrum is piecewise linear between grid points. For s(λ) = λ, a symmetric response returns its
        // centre. For s(λ) = λ², the piecewise-linear version exceeds λ² by (λ − g_k)(g_k+1 − λ), h²/6 on average over a cell
        // (h = 10 nm), and a Gaussian truncated at ±4σ has variance σ²·(1 − 8φ(4)/(2Φ(4) − 1)); so the band reads
        // μ² + σ²·(1 − 8φ(4)/(2Φ(4) − 1)) + h²/6 for σ ≫ h.
        double mu = 1203.7, fwhm = 94.2, sigma = fwhm / 2.354820045;
        var response = SpectralGrid.Response(new SpectralBands([mu], [fwhm]));
        double linear = 0, quadratic = 0;
        for (int g = 0; g < SpectralGrid.Points; g++)
        {
            linear += response[g] * SpectralGrid.Centres[g];
            quadratic += response[g] * SpectralGrid.Centres[g] * SpectralGrid.Centres[g];
        }
        Assert.Equal(mu, linear, 3);
        double phi4 = Math.Exp(-8) / Math.Sqrt(2 * Math.PI), twoPhi4Minus1 = 0.9999366575;
        double expected = mu * mu + sigma * sigma * (1 - 8 * phi4 / twoPhi4Minus1) + 100.0 / 6;
        Assert.Equal(expected, quadratic, 0.6);
        Assert.Equal(1.0, response.Sum(), 9);
    }

    [Fact]
    public void Grid_endmembers_seen_by_a_narrow_band_equal_the_spectrum_at_its_centre()
    {
        var spectrum = SpectralGrid.Centres.Select(l => 0.2 + 0.1 * Math.Sin(l / 90.0)).ToArray();
        double Direct(double lambda)
        {
            int lo = (int)((lambda - SpectralGrid.Start) / SpectralGrid.Step);
            double f = (lambda - SpectralGrid.Centres[lo]) / SpectralGrid.Step;
            return spectrum[lo] * (1 - f) + spectrum[lo + 1] * f;
        }
        double[] centres = [402.3, 655.5, 907.77, 1500, 2444.9];
        foreach (var (fwhm, tolerance) in new[] { (0.01, 1e-12), (0.5, 2e-5) })
        {
            var response = SpectralGrid.Response(new SpectralBands(centres, centres.Select(_ => fwhm).ToArray()));
            for (int c = 0; c < centres.Length; c++)
            {
                double seen = Enumerable.Range(0, SpectralGrid.Points).Sum(g => response[c * SpectralGrid.Points + g] * spectrum[g]);
                Assert.Equal(Direct(centres[c]), seen, tolerance);
            }
        }
        // Through the model: endmembers set on the grid and read at narrow bands.
        using var model = new KarmaModel(Config());
        var grid = tensor(spectrum.Select(v => (float)v).ToArray(), SpectralGrid.Points, 1).expand(SpectralGrid.Points, 3).contiguous();
        model.Physics!.SetEndmembers(grid, learnable: true);
        var bands = new SpectralBands(centres, centres.Select(_ => 0.01).ToArray());
        var a = model.Endmembers(bands).detach();
        for (int c = 0; c < centres.Length; c++) Assert.Equal(Direct(centres[c]), a[c, 0].item<float>(), 4);
    }

    [Fact]
    public void Old_fixed_band_checkpoints_still_load()
    {
        using var dir = new TempDir();
        var config = TestConfigs.Micro with { Bands = 12 };
        manual_seed(8);
        using var model = new KarmaModel(config);
        model.eval();
        ModelCheckpoint.Save(model, dir.File("old"), Enumerable.Range(0, 12).Select(i => 400.0 + 20 * i).ToArray());
        // A checkpoint written before wavelength-aware models: no embedding, spectral width or training bands in model.json.
        string json = File.ReadAllText(dir.File("old/model.json"));
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        node["config"]!.AsObject().Remove("spectralEmbedding");
        node["config"]!.AsObject().Remove("spectralDim");
        node.AsObject().Remove("trainingBands");
        File.WriteAllText(dir.File("old/model.json"), node.ToJsonString());
        Assert.DoesNotContain("spectralEmbedding", File.ReadAllText(dir.File("old/model.json")));
        var (loaded, meta) = ModelCheckpoint.Load(dir.File("old"));
        using (loaded)
        {
            Assert.False(meta.Config.ByWavelength);
            using var _ = no_grad();
            var x = rand(1, 12, 16, 16);
            Assert.True(model.EncodeAll(x, null).allclose(loaded.EncodeAll(x, null)));
        }
    }

    [Fact]
    public void Missing_wavelengths_are_refused_with_the_options_named()
    {
        using var dir = new TempDir();
        string path = dir.File("plain.hdr");
        SceneWriter.Write(path, 16, 16, 5, Enumerable.Repeat(0.2f, 16 * 16 * 5).ToArray());
        using var scene = HyperspectralScene.Open(path);
        var meta = new ModelCheckpoint.Metadata(Config(), null, new float[SpectralGrid.Points], new float[SpectralGrid.Points], Tiling: new TilingOptions { TileSize = 16 });
        var e = Assert.Throws<BandMismatchException>(() => meta.ReadingFor(scene));
        Assert.StartsWith(scene.Path, e.Message);
        foreach (var option in new[] { "wavelength file", "START:END", "sensor table", "enmap", "aviris-classic", "@SPEC" }) Assert.Contains(option, e.Message);
        Assert.Contains("--wavelengths", Karma.Cli.KarmaCli.Describe(e));
        // Described, the same scene is read.
        using var described = HyperspectralScene.Open(path + "@500:900");
        Assert.Equal(5, meta.Read(described).Bands);
    }
}
