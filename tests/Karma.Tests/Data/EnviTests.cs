using System.Text.Json;
using Karma.Data;

namespace Karma.Tests.Data;

public class EnviTests
{
    [Theory]
    [InlineData("bsq")]
    [InlineData("bil")]
    [InlineData("bip")]
    public void Band_subsets_and_windows_follow_the_interleave(string interleave)
    {
        const int lines = 5, samples = 7, bands = 4;
        static float Value(int b, int r, int c) => 1000 * b + 10 * r + c;
        using var dir = new TempDir();
        var raw = new List<float>();
        for (int i = 0; i < lines * samples * bands; i++)
        {
            (int b, int r, int c) = interleave switch
            {
                "bsq" => (i / (lines * samples), i / samples % lines, i % samples),
                "bil" => (i / samples % bands, i / (samples * bands), i % samples),
                _ => (i % bands, i / (samples * bands), i / bands % samples),
            };
            raw.Add(Value(b, r, c));
        }
        File.WriteAllBytes(dir.File("x.img"), raw.SelectMany(BitConverter.GetBytes).ToArray());
        File.WriteAllText(dir.File("x.hdr"), $"ENVI\nsamples = {samples}\nlines = {lines}\nbands = {bands}\ndata type = 4\ninterleave = {interleave}\nbyte order = 0\n");
        using var scene = HyperspectralScene.Open(dir.File("x.hdr"));
        int[] wanted = [3, 0, 2];
        var window = new float[3 * 2 * 3];
        scene.ReadWindow(2, 4, 2, 3, wanted, window);
        for (int i = 0; i < 3; i++)
            for (int r = 0; r < 2; r++)
                for (int c = 0; c < 3; c++)
                    Assert.Equal(Value(wanted[i], 2 + r, 4 + c), window[(i * 2 + r) * 3 + c]);
        Assert.Equal([Value(0, 4, 6), Value(1, 4, 6), Value(2, 4, 6), Value(3, 4, 6)], scene.ReadPixel(4, 6).Select(v => (float)v));
        Assert.ThrowsAny<KarmaException>(() => scene.ReadWindow(4, 6, 2, 1, [], new float[8]));
        Assert.ThrowsAny<KarmaException>(() => scene.ReadWindow(0, 0, 1, 1, [4], new float[1]));
    }

    [Fact]
    public void Gzip_compressed_real_scene_reads_with_micrometres_in_nanometres()
    {
        using var scene = HyperspectralScene.Open(Shared.Require("data/enmap_berlin_urban_gradient/EnMAP_BerlinUrbanGradient.hdr"));
        Assert.Equal((80, 60, 177, RasterDataType.Int16), (scene.Lines, scene.Samples, scene.Bands, scene.DataType));
        Assert.Equal(-99, scene.Metadata.NoDataValue);
        Assert.InRange(scene.Metadata.Wavelengths![0], 400, 500);
        Assert.InRange(scene.Metadata.Wavelengths![^1], 2300, 2500);
        var pixel = scene.ReadPixel(40, 30);
        Assert.All(pixel, v => Assert.InRange(v, -99, 10000));
        Assert.Contains(pixel, v => v > 0);
    }

    [Fact]
    public void Writer_round_trips_values_and_metadata_atomically()
    {
        using var dir = new TempDir();
        var rng = new Random(3);
        var cube = Enumerable.Range(0, 4 * 5 * 6).Select(_ => (float)rng.NextDouble()).ToArray();
        var meta = new SceneMetadata
        {
            Wavelengths = [450, 550.5, 650, 1000], Fwhm = [10, 10, 12, 15], NoDataValue = -9999, GoodBands = [true, true, false, true],
            MapInfo = "UTM, 1, 1, 380000, 5820000, 30, 30, 33, North, WGS-84", CoordinateSystem = "PROJCS[\"x\"]",
        };
        EnviWriter.Write(dir.File("out.img"), 5, 6, 4, cube, meta);
        Assert.Equal(["out.hdr", "out.img"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
        using var scene = HyperspectralScene.Open(dir.File("out.hdr"));
        var back = new float[cube.Length];
        scene.ReadWindow(0, 0, 5, 6, [], back);
        Assert.Equal(cube, back);
        Assert.Equal(meta.Wavelengths, scene.Metadata.Wavelengths);
        Assert.Equal(meta.Fwhm, scene.Metadata.Fwhm);
        Assert.Equal(meta.GoodBands, scene.Metadata.GoodBands);
        Assert.Equal(meta.NoDataValue, scene.Metadata.NoDataValue);
        Assert.Equal(meta.MapInfo, scene.Metadata.MapInfo);
        Assert.Equal([380000, 30, 0, 5820000, 0, -30], scene.Metadata.GeoTransform!);
    }

    [Fact]
    public void Abandoned_write_leaves_the_previous_output_untouched()
    {
        using var dir = new TempDir();
        EnviWriter.Write(dir.File("out.img"), 2, 2, 1, [1f, 2f, 3f, 4f]);
        using (var writer = new EnviWriter(dir.File("out.img"), 2, 2, 1))
            writer.WriteWindow(0, 0, 2, 2, [9f, 9f, 9f, 9f]); // no Commit: as if the process died
        using var scene = HyperspectralScene.Open(dir.File("out.hdr"));
        Assert.Equal([1.0], scene.ReadPixel(0, 0));
        Assert.Equal(["out.hdr", "out.img"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
    }

    static KarmaException OpenBad(TempDir dir, string header, int binaryBytes)
    {
        File.WriteAllText(dir.File("bad.hdr"), header);
        File.WriteAllBytes(dir.File("bad.img"), new byte[binaryBytes]);
        return Assert.ThrowsAny<KarmaException>(() => HyperspectralScene.Open(dir.File("bad.hdr")));
    }

    [Theory]
    [InlineData("ENVI\nsamples = 4\nlines = 3\nbands = 2\ndata type = 2\ninterleave = bsq\n", 47, "truncated")]
    [InlineData("ENVI\nsamples = 4\nlines = 3\ndata type = 2\n", 48, "'bands'")]
    [InlineData("ENVI\nsamples = 4\nlines = 3\nbands = 2\ndata type = 6\n", 96, "data type 6")]
    [InlineData("ENVI\nsamples = 4\nlines = 3\nbands = 2\ndata type = 2\ninterleave = bsx\n", 48, "interleave")]
    [InlineData("ENVI\nsamples = 4\nlines = 3\nbands = 2\ndata type = 2\nwavelength = {400, 500, 600}\n", 48, "lists 3 values")]
    [InlineData("ENVI\nsamples = 4\nlines = 3\nbands = 2\ndata type = 2\nwavelength = {400,\n500\n", 48, "never closed")]
    [InlineData("ENVI\nsamples = four\nlines = 3\nbands = 2\ndata type = 2\n", 48, "integer")]
    [InlineData("ENVI\nsamples = 4\nlines = -3\nbands = 2\ndata type = 2\n", 48, "positive")]
    [InlineData("not a header\n", 48, "first line")]
    [InlineData("ENVI\nsamples = 4\nlines = 3\nbands = 2\ndata type = 2\nheader offset = 10\n", 50, "truncated")]
    [InlineData("ENVI\nsamples = 4\nlines = 3\nbands = 2\ndata type = 2\nfile compression = 1\n", 48, "gzip")]
    public void Bad_headers_and_binaries_name_the_file_and_the_problem(string header, int bytes, string expected)
    {
        using var dir = new TempDir();
        var e = OpenBad(dir, header, bytes);
        Assert.Contains(expected, e.Message);
        Assert.Contains("bad.", e.Message);
    }

    [Fact]
    public void Header_parsing_follows_the_spec()
    {
        var h = EnviHeader.Parse("ENVI\n; comment\nDescription = {two\n lines}\nBANDS=3\nWavelength Units = Micrometers\nwavelength = {0.4,\n 0.5 , 0.6}\nbands = 4\n", "x.hdr");
        Assert.Equal(4, h.Int("bands")); // last duplicate wins
        Assert.Equal("two\nlines", h["description"]);
        Assert.Equal([0.4, 0.5, 0.6], h.Doubles("wavelength", 3)!);
        Assert.Equal("Micrometers", h["wavelength units"]);
    }
}
