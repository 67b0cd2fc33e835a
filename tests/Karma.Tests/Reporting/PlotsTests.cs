using System.Buffers.Binary;
using Karma.Reporting;
using Karma.Training;

namespace Karma.Tests.Reporting;

public class PlotsTests
{
    static (int Width, int Height) PngSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    /// <summary>Distinct colours in a PNG, so an all-blank picture fails.</summary>
    static int Colours(string path)
    {
        using var bitmap = SkiaSharp.SKBitmap.Decode(path);
        return bitmap.Pixels.Distinct().Count();
    }

    [Fact]
    public void Charts_render_at_their_size_for_typical_and_degenerate_data()
    {
        using var dir = new TempDir();
        double[] wl = [400, 500, 600, 700];
        Plots.Spectra(dir.File("s.png"), wl, [("a", [0.1, 0.2, 0.3, 0.2]), ("nan", [double.NaN, 0.1, double.NaN, 0.4])], "spectra");
        Assert.Equal((Plots.Width, Plots.Height), PngSize(dir.File("s.png")));
        Assert.True(Colours(dir.File("s.png")) > 10);

        var map = new double[5, 7];
        Plots.Map(dir.File("constant.png"), map, "constant", "value");
        map[1, 2] = double.NaN;
        map[3, 3] = 1;
        Plots.Map(dir.File("nan.png"), map, "with NaN", "value", (0, 1));
        // A map's picture follows its aspect (5 rows × 7 columns: wider than tall), at the standard height.
        var (mapWidth, mapHeight) = PngSize(dir.File("nan.png"));
        Assert.Equal(Plots.Height, mapHeight);
        Assert.InRange(mapWidth, Plots.Height * 0.8 * 7 / 5 + 180 - 1, Plots.Height * 0.8 * 7 / 5 + 180 + 1);
        Assert.True(Colours(dir.File("nan.png")) > 10);

        var log = Enumerable.Range(0, 50).Select(i => new StepRecord(i, 0, 1.0 / (i + 1), 0.5 / (i + 1), null, 0.1, 1e-3, 1, 10)).ToList();
        Plots.Curves(dir.File("curves.png"), log, "training");
        Plots.Curves(dir.File("one.png"), log.Take(1).ToList(), "one step");
        Assert.Equal((Plots.Width, Plots.Height), PngSize(dir.File("one.png")));
        Plots.Bars(dir.File("bars.png"), ["mae", "karma"], [20.5, double.NaN], "PSNR", "dB");
        Assert.Equal((500, 380), PngSize(dir.File("bars.png")));
    }

    [Fact]
    public void Composites_stretch_each_channel_and_survive_one_band_constant_and_NaN_cubes()
    {
        using var dir = new TempDir();
        const int rows = 6, cols = 9;
        var cube = new float[3 * rows * cols];
        for (int i = 0; i < cube.Length; i++) cube[i] = i % 17 * 0.01f;
        using (var image = Plots.Composite(cube, 3, rows, cols, [460, 550, 640], scale: 4))
        {
            Assert.Equal((cols * 4, rows * 4), (image.Width, image.Height));
            Plots.SavePng(image, dir.File("rgb.png"));
        }
        Assert.True(Colours(dir.File("rgb.png")) > 5);

        using var single = Plots.Composite(new float[rows * cols], 1, rows, cols, null);
        Assert.Equal((cols, rows), (single.Width, single.Height));
        var nan = Enumerable.Repeat(float.NaN, rows * cols).ToArray();
        using var empty = Plots.Composite(nan, 1, rows, cols, null);
        Assert.Equal(SkiaSharp.SKColors.Black, empty.GetPixel(0, 0));
        using var strip = Plots.SideBySide([("a", single), ("b", empty)]);
        Assert.True(strip.Width > 2 * cols);
    }

    [Fact]
    public void Scene_previews_read_three_bands_and_decimate_large_scenes()
    {
        using var dir = new TempDir();
        var scene = new Karma.Data.SceneSimulator { Size = 40, Bands = 30, Seed = 2 }.Generate();
        using var opened = Karma.Data.HyperspectralScene.Open(scene.WriteTo(dir.File("scene")));
        ScenePreview.Write(opened, dir.File("true.png"), ScenePreview.TrueColour);
        Assert.Equal((240, 240), PngSize(dir.File("true.png"))); // 40 px shown 6× larger
        ScenePreview.Write(opened, dir.File("small.png"), ScenePreview.FalseColour, maxSide: 10);
        Assert.Equal((250, 250), PngSize(dir.File("small.png"))); // every 4th pixel, 10 px shown 25× larger
        Assert.True(Colours(dir.File("true.png")) > 20);
    }

    [Fact]
    public void Confusion_matrices_render_with_an_empty_class()
    {
        using var dir = new TempDir();
        Plots.ConfusionMatrix(dir.File("cm.png"), new[,] { { 50, 3, 0 }, { 4, 20, 1 }, { 0, 0, 0 } }, ["roof", "tree", "water"], "confusion");
        Assert.Equal((640, 560), PngSize(dir.File("cm.png")));
        Assert.True(Colours(dir.File("cm.png")) > 20);
        Assert.Throws<ArgumentException>(() => Plots.ConfusionMatrix(dir.File("bad.png"), new int[2, 3], ["a", "b"], "bad"));
    }
}
