using Karma.Data;

namespace Karma.Tests.Data;

public class GeoTiffTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void Writer_round_trips_pixels_and_metadata(int bands)
    {
        const int lines = 70, samples = 9; // several strips per band
        using var dir = new TempDir();
        var cube = new float[bands * lines * samples];
        for (int i = 0; i < cube.Length; i++) cube[i] = MathF.Sin(i * 0.37f) * 1000 + i * 1e-3f;
        cube[3] = float.NaN;
        var meta = new SceneMetadata
        {
            Wavelengths = Enumerable.Range(0, bands).Select(b => 400 + 10.5 * b).ToArray(),
            Fwhm = Enumerable.Range(0, bands).Select(b => 6.25 + b).ToArray(),
            GoodBands = Enumerable.Range(0, bands).Select(b => b != 1).ToArray(),
            BandNames = Enumerable.Range(0, bands).Select(b => $"band <{b}> & co").ToArray(),
            NoDataValue = -32768,
            ReflectanceScale = 10000,
            GeoTransform = [380000, 30, 0, 5820000, 0, -30],
            CoordinateSystem = "EPSG:32633",
        };
        SceneWriter.Write(dir.File("out.tif"), lines, samples, bands, cube, meta);
        Assert.Single(Directory.GetFiles(dir.Path)); // no temporary files left behind

        using var scene = HyperspectralScene.Open(dir.File("out.tif"));
        Assert.Equal((lines, samples, bands, RasterDataType.Float32), (scene.Lines, scene.Samples, scene.Bands, scene.DataType));
        var back = new float[cube.Length];
        scene.ReadWindow(0, 0, lines, samples, [], back);
        Assert.Equal(cube.Select(BitConverter.SingleToInt32Bits), back.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(meta.Wavelengths, scene.Metadata.Wavelengths);
        Assert.Equal(meta.Fwhm, scene.Metadata.Fwhm);
        Assert.Equal(meta.GoodBands, scene.Metadata.GoodBands);
        Assert.Equal(meta.BandNames, scene.Metadata.BandNames);
        Assert.Equal(meta.NoDataValue, scene.Metadata.NoDataValue);
        Assert.Equal(meta.ReflectanceScale!.Value, scene.Metadata.ReflectanceScale!.Value, 9);
        Assert.Equal(meta.GeoTransform, scene.Metadata.GeoTransform);
        Assert.Equal("EPSG:32633", scene.Metadata.CoordinateSystem);
    }

    [Fact]
    public void A_failed_write_leaves_the_previous_output_intact()
    {
        using var dir = new TempDir();
        SceneWriter.Write(dir.File("out.tif"), 2, 2, 1, [1f, 2f, 3f, 4f]);
        byte[] before = File.ReadAllBytes(dir.File("out.tif"));
        using (var writer = SceneWriter.Create(dir.File("out.tif"), 2, 2, 1))
            writer.WriteWindow(0, 0, 1, 2, [9f, 9f]); // abandoned without Commit
        Assert.Equal(before, File.ReadAllBytes(dir.File("out.tif")));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Reads_a_real_EnMAP_tile_with_its_GDAL_band_metadata()
    {
        using var scene = HyperspectralScene.Open(Shared.Require("data/enmap_potsdam/images/enmap_potsdam_tile_128_0.tif"));
        Assert.Equal((32, 32, 224, RasterDataType.Float32, Interleave.Bsq), (scene.Lines, scene.Samples, scene.Bands, scene.DataType, scene.Interleave));
        Assert.Equal(418.24, scene.Metadata.Wavelengths![0], 6);
        Assert.Equal(2445.53, scene.Metadata.Wavelengths[^1], 6);
        Assert.Equal(6.99561, scene.Metadata.Fwhm![0], 6);
        Assert.Equal(Enumerable.Range(129, 6), Enumerable.Range(0, 224).Where(b => !scene.Metadata.GoodBands![b]));
        Assert.Equal(-32768, scene.Metadata.NoDataValue);
        Assert.Equal(10000, scene.Metadata.ReflectanceScale!.Value, 6);
        Assert.Equal("EPSG:32633", scene.Metadata.CoordinateSystem);
        var spectrum = scene.ReadPixel(5, 7);
        Assert.All(spectrum.Skip(129).Take(6), v => Assert.Equal(-32768, v));
        Assert.All(spectrum.Take(129), v => Assert.InRange(v, -500, 10000));
    }

    [Fact]
    public void A_file_that_is_not_a_TIFF_names_itself()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.tif"), "not a tiff at all");
        var e = Assert.ThrowsAny<KarmaException>(() => HyperspectralScene.Open(dir.File("bad.tif")));
        Assert.Contains("bad.tif", e.Message);
        Assert.Contains("not a TIFF", e.Message);
    }

    [Fact]
    public void A_truncated_TIFF_fails_with_a_clear_error_not_garbage()
    {
        using var dir = new TempDir();
        var cube = Enumerable.Range(0, 3 * 64 * 64).Select(i => (float)i).ToArray();
        SceneWriter.Write(dir.File("full.tif"), 64, 64, 3, cube);
        var bytes = File.ReadAllBytes(dir.File("full.tif"));
        File.WriteAllBytes(dir.File("cut.tif"), bytes[..(bytes.Length / 2)]);
        var e = Assert.ThrowsAny<KarmaException>(() =>
        {
            using var scene = HyperspectralScene.Open(dir.File("cut.tif"));
            scene.ReadWindow(0, 0, 64, 64, [], new float[cube.Length]);
        });
        Assert.Contains("cut.tif", e.Message);
    }
}
