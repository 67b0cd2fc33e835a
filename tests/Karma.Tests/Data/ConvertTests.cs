using Karma.Data;

namespace Karma.Tests.Data;

public class ConvertTests
{
    [Fact]
    public void ENVI_to_GeoTIFF_to_ENVI_is_bit_identical_and_keeps_the_band_information()
    {
        using var dir = new TempDir();
        string source = Shared.Require("data/enmap_potsdam/images/enmap_potsdam_tile_128_0.tif");
        SceneConverter.Convert(source, dir.File("a.hdr"));
        SceneConverter.Convert(dir.File("a.hdr"), dir.File("b.tif"));
        SceneConverter.Convert(dir.File("b.tif"), dir.File("c.hdr"));
        Assert.Equal(File.ReadAllBytes(dir.File("a.img")), File.ReadAllBytes(dir.File("c.img")));
        using var original = HyperspectralScene.Open(source);
        using var back = HyperspectralScene.Open(dir.File("c.hdr"));
        Assert.Equal(original.Metadata.Wavelengths, back.Metadata.Wavelengths);
        Assert.Equal(original.Metadata.Fwhm, back.Metadata.Fwhm);
        Assert.Equal(original.Metadata.GoodBands, back.Metadata.GoodBands);
        Assert.Equal(original.Metadata.NoDataValue, back.Metadata.NoDataValue);
        Assert.Equal(original.Metadata.ReflectanceScale, back.Metadata.ReflectanceScale);
        Assert.NotNull(original.Metadata.GeoTransform);
        Assert.Equal(original.Metadata.GeoTransform, back.Metadata.GeoTransform);
        Assert.StartsWith("EPSG:326", original.Metadata.CoordinateSystem);                  // a UTM zone, kept through ENVI's map info
        Assert.Equal(original.Metadata.CoordinateSystem, back.Metadata.CoordinateSystem);
        Assert.Equal(original.ReadPixel(5, 7), back.ReadPixel(5, 7));
    }

    [Fact]
    public void A_band_subset_keeps_its_own_band_information()
    {
        using var dir = new TempDir();
        string source = Shared.Require("data/enmap_potsdam/images/enmap_potsdam_tile_128_0.tif");
        SceneConverter.Convert(source, dir.File("s.tif"), [3, 0, 130]);
        using var original = HyperspectralScene.Open(source);
        using var subset = HyperspectralScene.Open(dir.File("s.tif"));
        Assert.Equal(3, subset.Bands);
        Assert.Equal(new[] { 3, 0, 130 }.Select(b => original.Metadata.Wavelengths![b]), subset.Metadata.Wavelengths!);
        Assert.False(subset.Metadata.GoodBands![2]);                               // band 131 is one of EnMAP's bad bands
        Assert.Equal(original.ReadPixel(2, 2)[3], subset.ReadPixel(2, 2)[0]);
        Assert.Contains("has no band 301", Assert.ThrowsAny<KarmaException>(() => SceneConverter.Convert(source, dir.File("x.tif"), [300])).Message);
    }

    [Fact]
    public void Resampling_onto_a_sensor_drops_what_the_scene_cannot_make_and_keeps_no_data()
    {
        using var dir = new TempDir();
        const int rows = 4, cols = 5;
        var centres = Enumerable.Range(0, 196).Select(b => 460.0 + 10 * b).ToArray();   // 460–2410 nm
        var good = centres.Select((_, b) => b != 40).ToArray();                            // band 41 flagged bad, and garbage
        var random = new Random(5);
        var cube = new float[centres.Length * rows * cols];
        for (int i = 0; i < cube.Length; i++) cube[i] = i / (rows * cols) == 40 ? 1e6f : (float)random.NextDouble();
        cube[(7 * rows + 2) * cols + 3] = -9999;                                          // pixel (2, 3) is no-data in one band
        SceneWriter.Write(dir.File("s.hdr"), rows, cols, centres.Length, cube,
            new SceneMetadata { Wavelengths = centres, Fwhm = centres.Select(_ => 10.0).ToArray(), GoodBands = good, NoDataValue = -9999 });

        var made = SceneConverter.Resample(dir.File("s.hdr"), dir.File("r.tif"), SensorTables.Find("enmap")!.Bands);
        var enmap = SensorTables.Find("enmap")!.Bands;
        int inside = enmap.Centres.Count(c => c >= 460 && c <= 2410);
        Assert.Equal((inside, enmap.Count - inside), (made.Written, made.Dropped));
        Assert.True(made.Dropped > 0);

        using var result = HyperspectralScene.Open(dir.File("r.tif"));
        Assert.Equal(enmap.Centres.Where(c => c >= 460 && c <= 2410), result.Metadata.Wavelengths!);
        var keptBands = Enumerable.Range(0, centres.Length).Where(b => good[b]).ToArray();
        var resampler = new SpectralResampler(new SpectralBands(keptBands.Select(b => centres[b]).ToArray(), keptBands.Select(_ => 10.0).ToArray()),
                                              enmap.Select(Enumerable.Range(0, enmap.Count).Where(t => enmap.Centres[t] >= 460 && enmap.Centres[t] <= 2410).ToArray()));
        var spectrum = keptBands.Select(b => cube[(b * rows + 1) * cols + 4]).ToArray();
        var expected = new float[inside];
        resampler.Apply(spectrum, expected, 1);
        Assert.Equal(expected.Select(v => (double)v), result.ReadPixel(1, 4), new ToleranceComparer(1e-6));
        Assert.All(result.ReadPixel(2, 3), v => Assert.Equal(-9999, v));
        Assert.All(result.ReadPixel(1, 4), v => Assert.InRange(v, 0, 1));                 // the flagged band's garbage never leaks
    }

    sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(double value) => 0;
    }
}
