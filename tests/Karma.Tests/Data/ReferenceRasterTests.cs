using System.Text.Json;
using Karma.Data;

namespace Karma.Tests.Data;

/// <summary>Every reader against what GDAL reads from the same files (../shared/reference).</summary>
public class ReferenceRasterTests
{
    public static TheoryData<string> ReferenceRasters()
    {
        var data = new TheoryData<string>();
        foreach (var name in new[] { "bsq", "bil", "bip" }.SelectMany(il => new[] { "byte", "int16", "uint16", "int32", "uint32", "float32", "float64" }.Select(t => $"envi_{il}_{t}.img"))
                     .Concat(["envi_bsq_int16_nodata.img", "envi_handmade_bsq_int16_bigendian.img", "envi_handmade_bil_float32_bigendian_offset.img", "envi_handmade_bip_uint16_offset.img"])
                     .Concat(["gtiff_band_striped_int16.tif", "gtiff_pixel_striped_int16.tif", "gtiff_band_tiled_deflate_int16.tif", "gtiff_pixel_tiled_lzw_uint16.tif",
                              "gtiff_band_deflate_pred2_int16.tif", "gtiff_band_striped_float32.tif", "gtiff_band_deflate_pred3_float32.tif"]))
            data.Add(name);
        return data;
    }

    static JsonElement Reference(string file)
    {
        var json = JsonDocument.Parse(File.ReadAllText(Shared.Require("reference/reference.json")));
        return json.RootElement.GetProperty("rasters").EnumerateArray().Single(r => r.GetProperty("file").GetString() == file);
    }

    [Theory]
    [MemberData(nameof(ReferenceRasters))]
    public void Reads_what_gdal_reads(string file)
    {
        var reference = Reference(file);
        using var scene = HyperspectralScene.Open(Shared.Require("reference/" + file));
        Assert.Equal(reference.GetProperty("lines").GetInt32(), scene.Lines);
        Assert.Equal(reference.GetProperty("samples").GetInt32(), scene.Samples);
        Assert.Equal(reference.GetProperty("bands").GetInt32(), scene.Bands);
        Assert.Equal(reference.GetProperty("dataType").GetString(), scene.DataType.Name());
        if (reference.TryGetProperty("wavelengths", out var wl) && wl.ValueKind == JsonValueKind.Array)
            // Hand-made headers store micrometres to 4 decimals (0.1 nm), GDAL's values have 2 decimals in nm.
            Assert.Equal(wl.EnumerateArray().Select(w => w.GetDouble()), scene.Metadata.Wavelengths!, (a, b) => Math.Abs(a - b) < 0.05);
        if (reference.TryGetProperty("geoTransform", out var gt) && gt.ValueKind == JsonValueKind.Array)
            Assert.Equal(gt.EnumerateArray().Select(v => v.GetDouble()), scene.Metadata.GeoTransform!, (a, b) => Math.Abs(a - b) < 1e-9);
        if (reference.TryGetProperty("nodata", out var nd) && nd.ValueKind == JsonValueKind.Number)
            Assert.Equal(nd.GetDouble(), scene.Metadata.NoDataValue);

        foreach (var pixel in reference.GetProperty("pixels").EnumerateArray())
        {
            var expected = pixel.GetProperty("spectrum").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            int row = pixel.GetProperty("row").GetInt32(), col = pixel.GetProperty("col").GetInt32();
            var stored = scene.ReadPixel(row, col);
            Assert.Equal(expected, stored, (a, b) => a == b || Math.Abs(a - b) <= 1e-6 * Math.Abs(a));
            // The window path agrees with the exact pixel path.
            var window = new float[scene.Bands];
            scene.ReadWindow(row, col, 1, 1, [], window);
            Assert.Equal(stored.Select(v => (float)v), window);
        }
        if (reference.TryGetProperty("sha_sum", out var sum))
        {
            var all = new float[scene.Bands * scene.Lines * scene.Samples];
            scene.ReadWindow(0, 0, scene.Lines, scene.Samples, [], all);
            Assert.Equal(sum.GetDouble(), all.Sum(v => (double)v), 1e-3 * Math.Max(1, Math.Abs(sum.GetDouble())) * 1e-3);
        }
    }
}
