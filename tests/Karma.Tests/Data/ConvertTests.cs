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
        Assert.Contains("has no band 301", Assert.Throws<KarmaException>(() => SceneConverter.Convert(source, dir.File("x.tif"), [300])).Message);
    }
}
