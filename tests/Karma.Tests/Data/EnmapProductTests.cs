using System.Globalization;
using System.Text;
using Karma.Data;

namespace Karma.Tests.Data;

public class EnmapProductTests
{
    const string Name = "ENMAP01-____L2A-DT0000001867_20220724T104526Z_008_V010302_20230628T165614Z";

    /// <summary>A small product as the EnMAP ground segment lays it out: int16 image, METADATA.XML, a cloud mask.</summary>
    static string MakeProduct(TempDir dir, int bands = 6, int size = 16)
    {
        string folder = dir.File(Name);
        Directory.CreateDirectory(folder);
        var cube = new float[bands * size * size];
        for (int i = 0; i < cube.Length; i++) cube[i] = 1000 + i % 997;
        for (int p = 0; p < size * size; p++) cube[3 * size * size + p] = -32768; // band 4 is a no-data band
        SceneWriter.Write(Path.Combine(folder, $"{Name}-SPECTRAL_IMAGE.TIF"), size, size, bands, cube,
                          new SceneMetadata { NoDataValue = -32768, GeoTransform = [380000, 30, 0, 5820000, 0, -30], CoordinateSystem = "EPSG:32633" });
        var cloud = new float[size * size];
        for (int r = 0; r < 8; r++) for (int c = 0; c < 8; c++) cloud[r * size + c] = 1; // top-left quarter is cloud
        SceneWriter.Write(Path.Combine(folder, $"{Name}-QL_QUALITY_CLOUD.TIF"), size, size, 1, cloud);
        var xml = new StringBuilder("<?xml version=\"1.0\"?><level_X><product><bandStatistics>");
        for (int b = 0; b < bands; b++)
            xml.Append(b == 3 ? "<bandID number=\"4\"><mean>-1000000</mean><stdDeviation>0</stdDeviation></bandID>"
                              : $"<bandID number=\"{b + 1}\"><mean>1500</mean><stdDeviation>120</stdDeviation></bandID>");
        xml.Append("</bandStatistics></product><specific><bandCharacterisation>");
        for (int b = 0; b < bands; b++)
            xml.Append(string.Create(CultureInfo.InvariantCulture,
                $"<bandID number=\"{b + 1}\"><wavelengthCenterOfBand>{420 + 300.5 * b}</wavelengthCenterOfBand><FWHMOfBand>{6.5 + b}</FWHMOfBand><GainOfBand>0.0001</GainOfBand><OffsetOfBand>0</OffsetOfBand></bandID>"));
        xml.Append("</bandCharacterisation></specific></level_X>");
        File.WriteAllText(Path.Combine(folder, $"{Name}-METADATA.XML"), xml.ToString());
        return folder;
    }

    [Fact]
    public void Reads_band_information_from_the_metadata_and_flags_clouds()
    {
        using var dir = new TempDir();
        string folder = MakeProduct(dir);
        foreach (var path in new[] { folder, Path.Combine(folder, $"{Name}-SPECTRAL_IMAGE.TIF"), Path.Combine(folder, $"{Name}-METADATA.XML") })
        {
            using var scene = HyperspectralScene.Open(path);
            var enmap = Assert.IsType<EnmapScene>(scene);
            Assert.Equal(420 + 300.5, scene.Metadata.Wavelengths![1]);
            Assert.Equal(8.5, scene.Metadata.Fwhm![2]);
            Assert.Equal([true, true, true, false, true, true], scene.Metadata.GoodBands!);
            Assert.Equal(10000, scene.Metadata.ReflectanceScale!.Value, 6);
            Assert.Equal(["QL_QUALITY_CLOUD"], enmap.MaskNames);
        }
        using var opened = HyperspectralScene.Open(folder);
        var flagged = new bool[16 * 16];
        opened.ReadQualityMask(0, 0, 16, 16, flagged);
        Assert.Equal(64, flagged.Count(f => f));
        // Tiles under the cloud are skipped; the no-data band is dropped; values become reflectance.
        var tiles = TileSet.FromScene(opened, new TilingOptions { TileSize = 8, Stride = 8 });
        Assert.Equal(3, tiles.Tiles.Count);
        Assert.Equal(5, tiles.Bands);
        Assert.DoesNotContain(tiles.Tiles, t => t.Row == 0 && t.Col == 0);
        Assert.All(tiles.Tiles.SelectMany(t => t.Values), v => Assert.InRange(v, 0.1f, 0.2f));
    }

    [Fact]
    public void A_metadata_file_that_disagrees_with_the_image_names_the_problem()
    {
        using var dir = new TempDir();
        string folder = MakeProduct(dir);
        string xml = Path.Combine(folder, $"{Name}-METADATA.XML");
        File.WriteAllText(xml, File.ReadAllText(xml).Replace("<bandID number=\"6\"><wavelengthCenterOfBand>", "<other><wavelengthCenterOfBand>")
                                                   .Replace("</OffsetOfBand></bandID></bandCharacterisation>", "</OffsetOfBand></other></bandCharacterisation>"));
        var e = Assert.ThrowsAny<KarmaException>(() => HyperspectralScene.Open(folder));
        Assert.Contains("describes 5 bands but the spectral image has 6", e.Message);
        Assert.Contains("METADATA.XML", e.Message);
    }
}
