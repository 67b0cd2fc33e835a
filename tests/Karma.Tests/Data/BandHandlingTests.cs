using Karma.Data;

namespace Karma.Tests.Data;

public class BandHandlingTests
{
    [Fact]
    public void EnMAP_bad_band_list_leaves_the_papers_218_bands_and_water_vapour_removal_fewer()
    {
        using var scene = HyperspectralScene.Open(Shared.Require("data/enmap_potsdam/images/enmap_potsdam_tile_128_0.tif"));
        var kept = new BandSelection().Choose(scene);
        Assert.Equal(218, kept.Length);
        Assert.DoesNotContain(130, kept);
        var dry = BandSelection.WithoutWaterVapour.Choose(scene);
        Assert.True(dry.Length < 218);
        Assert.All(dry, b => Assert.DoesNotContain(BandSelection.WaterVapourWindows, w => w.Contains(scene.Metadata.Wavelengths![b])));
        var visible = new BandSelection { MaxWavelength = 700 }.Choose(scene);
        Assert.All(visible, b => Assert.True(scene.Metadata.Wavelengths![b] <= 700));
        // Without the file's list the empty bands (all no-data) are found from the pixels.
        Assert.Equal(218, new BandSelection { DropFlagged = false }.Choose(scene).Length);
    }

    [Fact]
    public void Resampling_to_the_same_bands_is_the_identity_and_interpolation_is_exact_on_lines()
    {
        double[] source = [400, 410, 420, 430, 440];
        var identity = new SpectralResampler(source, source);
        float[] spectrum = [1, 2, 4, 8, 16];
        var output = new float[5];
        identity.Apply(spectrum, output, 1);
        Assert.Equal(spectrum, output);

        var linear = new SpectralResampler(source, [405, 432.5]);
        float[] line = source.Select(w => (float)(0.01 * w)).ToArray();
        var two = new float[2];
        linear.Apply(line, two, 1);
        Assert.Equal(4.05f, two[0], 5);
        Assert.Equal(4.325f, two[1], 5);
    }

    [Fact]
    public void Gaussian_responses_are_normalised_and_centred()
    {
        var source = Enumerable.Range(0, 200).Select(i => 400 + 2.0 * i).ToArray();
        var resampler = new SpectralResampler(source, [500, 600], [10, 30]);
        var flat = Enumerable.Repeat(0.3f, 200).ToArray();
        var output = new float[2];
        resampler.Apply(flat, output, 1);
        Assert.All(output, v => Assert.Equal(0.3f, v, 5));
        // A linear spectrum is unchanged at a symmetric response's centre.
        var ramp = source.Select(w => (float)(w / 1000)).ToArray();
        resampler.Apply(ramp, output, 1);
        Assert.Equal(0.5f, output[0], 4);
        Assert.Equal(0.6f, output[1], 4);
        Assert.ThrowsAny<KarmaException>(() => new SpectralResampler(source, [2500]));
    }

    [Fact]
    public void Tiles_of_a_resampled_scene_carry_the_target_wavelengths()
    {
        using var dir = new TempDir();
        using var opened = dir.Simulate(size: 32, bands: 50, seed: 2);
        double[] target = [500, 800, 1200, 2000];
        var tiles = TileSet.FromScene(opened, new TilingOptions { TileSize = 16, ResampleTo = target });
        Assert.Equal(4, tiles.Bands);
        Assert.Equal(target, tiles.Wavelengths);
        Assert.Equal(9, tiles.Tiles.Count); // 16² tiles with stride 8 over 32²
    }

    [Fact]
    public void A_scene_with_more_tiles_than_the_memory_budget_keeps_an_even_subset()
    {
        using var dir = new TempDir();
        using var opened = dir.Simulate(size: 128, bands: 64, seed: 2);
        var all = TileSet.FromScene(opened, new TilingOptions { TileSize = 16, Stride = 8 });
        Assert.Equal(225, all.Tiles.Count);
        Assert.False(all.Subsampled);
        var bounded = TileSet.FromScene(opened, new TilingOptions { TileSize = 16, Stride = 8, MemoryBudgetMiB = 1 });
        Assert.True(bounded.Subsampled);
        Assert.Equal((1 << 20) / (64 * 16 * 16 * 4), bounded.Tiles.Count);
        Assert.True(bounded.Tiles.Sum(t => (long)t.Values.Length * sizeof(float)) <= 1 << 20);
        // Spread over the whole scene, not the first rows.
        Assert.True(bounded.Tiles.Max(t => t.Row) - bounded.Tiles.Min(t => t.Row) >= 64);
        Assert.Equal(bounded.Tiles.Select(t => (t.Row, t.Col)), TileSet.FromScene(opened, new TilingOptions { TileSize = 16, Stride = 8, MemoryBudgetMiB = 1 }).Tiles.Select(t => (t.Row, t.Col)));
    }

    [Fact]
    public void Floating_point_scenes_holding_scaled_integers_are_read_as_reflectance()
    {
        // Salinas-A ships as doubles holding reflectance × 10000 and states no scale.
        using var scene = HyperspectralScene.Open(Shared.Require("data/salinas_a/SalinasA_corrected.mat"));
        var reader = new ReflectanceReader(scene, new TilingOptions());
        var values = new float[reader.Bands * 4 * 4];
        reader.Read(40, 40, 4, 4, values, new bool[16]);
        Assert.All(values, v => Assert.InRange(v, -0.05f, 1.5f));
        Assert.Contains(values, v => v > 0.05f);
    }
}
