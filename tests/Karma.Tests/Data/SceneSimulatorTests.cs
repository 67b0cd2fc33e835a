using Karma.Data;

namespace Karma.Tests.Data;

public class SceneSimulatorTests
{
    [Fact]
    public void Scene_is_a_linear_mixture_with_valid_abundances_and_the_requested_snr()
    {
        var clean = new SceneSimulator { Size = 24, Bands = 50, Endmembers = 4, SnrDb = 1000, Seed = 2 }.Generate();
        var noisy = new SceneSimulator { Size = 24, Bands = 50, Endmembers = 4, SnrDb = 30, Seed = 2 }.Generate();
        int n = 24 * 24;
        for (int p = 0; p < n; p++)
        {
            double sum = 0;
            for (int m = 0; m < 4; m++) { Assert.True(clean.Abundances[m * n + p] >= 0); sum += clean.Abundances[m * n + p]; }
            Assert.Equal(1.0, sum, 5);
        }
        // Pixel 0 equals A·a exactly without noise.
        for (int b = 0; b < 50; b++)
        {
            double v = Enumerable.Range(0, 4).Sum(m => clean.EndmemberSpectra[b * 4 + m] * clean.Abundances[m * n]);
            Assert.Equal(v, clean.Cube[b * n], 5);
        }
        double signal = clean.Cube.Average(v => (double)v * v);
        double noise = clean.Cube.Zip(noisy.Cube).Average(t => Math.Pow(t.First - t.Second, 2));
        Assert.InRange(10 * Math.Log10(signal / noise), 29, 31);
        Assert.All(clean.EndmemberSpectra, v => Assert.InRange(v, 0f, 1f));
        Assert.True(clean.Abundances.Count(a => a > 0.9) > 0, "expected near-pure pixels");
    }

    [Fact]
    public void Same_seed_same_scene_and_files_round_trip()
    {
        var a = new SceneSimulator { Size = 16, Bands = 20, Seed = 5 }.Generate();
        var b = new SceneSimulator { Size = 16, Bands = 20, Seed = 5 }.Generate();
        var c = new SceneSimulator { Size = 16, Bands = 20, Seed = 6 }.Generate();
        Assert.Equal(a.Cube, b.Cube);
        Assert.NotEqual(a.Cube, c.Cube);
        using var dir = new TempDir();
        string header = a.WriteTo(dir.Path);
        using var scene = HyperspectralScene.Open(header);
        var back = new float[a.Cube.Length];
        scene.ReadWindow(0, 0, 16, 16, [], back);
        Assert.Equal(a.Cube, back);
        Assert.Equal(a.Wavelengths, scene.Metadata.Wavelengths);
        Assert.True(File.Exists(dir.File("endmembers.csv")));
        using var abundances = HyperspectralScene.Open(dir.File("abundances.hdr"));
        Assert.Equal(5, abundances.Bands);
    }
}
