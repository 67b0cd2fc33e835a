using BitMiracle.LibTiff.Classic;
using Karma.Data;

namespace Karma.Tests.Data;

/// <summary>Karma's own strip/tile decoder must give LibTiff's bytes for every chunk it accepts.</summary>
public class TiffDecoderTests
{
    /// <summary>Decodes every chunk of <paramref name="path"/> both ways; returns how many chunks Karma's decoder took.</summary>
    static int CompareEveryChunk(string path)
    {
        using var tiff = Tiff.Open(path, "r");
        int F(TiffTag tag, int fallback) => tiff.GetField(tag) is { Length: > 0 } v ? v[0].ToInt() : fallback;
        int spp = F(TiffTag.SAMPLESPERPIXEL, 1);
        bool separate = F(TiffTag.PLANARCONFIG, 1) == (int)PlanarConfig.SEPARATE, tiled = tiff.IsTiled();
        int width = tiled ? F(TiffTag.TILEWIDTH, 0) : F(TiffTag.IMAGEWIDTH, 0);
        var decoder = TiffChunkDecoder.TryCreate(F(TiffTag.COMPRESSION, 1), F(TiffTag.PREDICTOR, 1), F(TiffTag.BITSPERSAMPLE, 1),
                                                 F(TiffTag.SAMPLEFORMAT, 1), separate ? 1 : spp, width, tiff.IsBigEndian());
        if (decoder is null) return 0;
        int chunks = tiled ? tiff.NumberOfTiles() : tiff.NumberOfStrips(), size = tiled ? tiff.TileSize() : tiff.StripSize();
        for (int i = 0; i < chunks; i++)
        {
            var expected = new byte[size];
            int n = tiled ? tiff.ReadEncodedTile(i, expected, 0, -1) : tiff.ReadEncodedStrip(i, expected, 0, -1);
            var raw = new byte[tiled ? tiff.RawTileSize(i) : tiff.RawStripSize(i)];
            if (tiled) tiff.ReadRawTile(i, raw, 0, raw.Length); else tiff.ReadRawStrip(i, raw, 0, raw.Length);
            var actual = new byte[size];
            Assert.Equal(n, decoder.Decode(raw, actual));
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{Path.GetFileName(path)}: chunk {i} differs from LibTiff's");
        }
        return chunks;
    }

    [Fact]
    public void Every_reference_GeoTIFF_decodes_as_LibTiff_decodes_it()
    {
        var files = Directory.GetFiles(Path.GetDirectoryName(Shared.Require("reference/gtiff_band_deflate_pred3_float32.tif"))!, "gtiff_*.tif");
        Assert.True(files.Length >= 7);
        foreach (var file in files) Assert.True(CompareEveryChunk(file) > 0, $"{Path.GetFileName(file)} was left to LibTiff");
    }

    public static TheoryData<Compression, int, int, int, bool, bool, bool> Layouts() => new()
    {
        // compression, predictor, bits, sample format, planar, tiled, big-endian
        { Compression.LZW, 1, 8, 1, false, false, false },
        { Compression.LZW, 2, 16, 1, false, true, false },
        { Compression.LZW, 2, 16, 2, true, false, false },
        { Compression.LZW, 3, 32, 3, false, false, false },
        { Compression.LZW, 2, 32, 2, false, true, false },
        { Compression.ADOBE_DEFLATE, 3, 64, 3, true, true, false },
        { Compression.ADOBE_DEFLATE, 2, 8, 1, false, false, false },
        { Compression.DEFLATE, 1, 32, 3, false, false, false },
        { Compression.ADOBE_DEFLATE, 3, 32, 3, false, true, true },
        { Compression.NONE, 1, 16, 1, false, true, false },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Written_layouts_decode_as_LibTiff_decodes_them(Compression compression, int predictor, int bits, int format, bool planar, bool tiled, bool bigEndian)
    {
        using var dir = new TempDir();
        string path = dir.File("t.tif");
        const int width = 61, height = 47, spp = 3;                 // partial last strips and edge tiles
        var random = new Random(bits * 7 + predictor);
        using (var tiff = Tiff.Open(path, bigEndian ? "wb" : "wl"))
        {
            tiff.SetField(TiffTag.IMAGEWIDTH, width);
            tiff.SetField(TiffTag.IMAGELENGTH, height);
            tiff.SetField(TiffTag.SAMPLESPERPIXEL, spp);
            tiff.SetField(TiffTag.BITSPERSAMPLE, bits);
            tiff.SetField(TiffTag.SAMPLEFORMAT, format);
            tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
            tiff.SetField(TiffTag.PLANARCONFIG, planar ? PlanarConfig.SEPARATE : PlanarConfig.CONTIG);
            tiff.SetField(TiffTag.COMPRESSION, compression);
            if (predictor != 1) tiff.SetField(TiffTag.PREDICTOR, predictor);
            if (tiled) { tiff.SetField(TiffTag.TILEWIDTH, 16); tiff.SetField(TiffTag.TILELENGTH, 16); }
            else tiff.SetField(TiffTag.ROWSPERSTRIP, 10);
            int chunks = tiled ? tiff.NumberOfTiles() : tiff.NumberOfStrips(), size = tiled ? tiff.TileSize() : tiff.StripSize();
            for (int i = 0; i < chunks; i++)
            {
                // Half smooth (long LZW strings), half noise (a full 12-bit table and clear codes).
                var data = new byte[size];
                for (int j = 0; j < size; j++) data[j] = j < size / 2 ? (byte)(j / 97) : (byte)random.Next(256);
                if (format == 3)                                    // keep floats finite: only the low mantissa bytes vary
                    for (int j = bits / 8 - 1; j < size; j += bits / 8) data[j] = 0x3f;
                int rows = tiled ? 16 : Math.Min(10, height - i % ((height + 9) / 10) * 10);
                int bytes = tiled ? size : rows * (int)tiff.ScanlineSize();
                if (tiled ? tiff.WriteEncodedTile(i, data, bytes) < 0 : tiff.WriteEncodedStrip(i, data, bytes) < 0)
                    throw new InvalidOperationException("LibTiff could not write the test file");
            }
        }
        Assert.True(CompareEveryChunk(path) > 0);
        // The scene reader takes the same path, in parallel, and must give what LibTiff gives value for value.
        using var scene = HyperspectralScene.Open(path);
        var fast = new float[spp * height * width];
        scene.ReadWindow(0, 0, height, width, [], fast);
        Assert.Equal(LibTiffRead(path, spp, height, width), fast);
    }

    /// <summary>The cube [band][row][col] as LibTiff decodes it, converted the way the scene reader converts stored values.</summary>
    static float[] LibTiffRead(string path, int spp, int height, int width)
    {
        using var tiff = Tiff.Open(path, "r");
        int bits = tiff.GetField(TiffTag.BITSPERSAMPLE)[0].ToInt(), format = tiff.GetField(TiffTag.SAMPLEFORMAT)?[0].ToInt() ?? 1;
        bool separate = tiff.GetField(TiffTag.PLANARCONFIG)[0].ToInt() == (int)PlanarConfig.SEPARATE;
        var type = (bits, format) switch
        {
            (8, 1) => RasterDataType.Byte, (16, 1) => RasterDataType.UInt16, (16, 2) => RasterDataType.Int16,
            (32, 2) => RasterDataType.Int32, (32, 3) => RasterDataType.Float32, _ => RasterDataType.Float64,
        };
        int size = bits / 8;
        var cube = new float[spp * height * width];
        var line = new byte[tiff.ScanlineSize()];
        for (int plane = 0; plane < (separate ? spp : 1); plane++)
            for (int r = 0; r < height; r++)
            {
                if (!tiff.IsTiled()) tiff.ReadScanline(line, r, (short)plane);
                else ReadTiledLine(tiff, line, r, plane, width);
                for (int c = 0; c < width; c++)
                    for (int s = 0; s < (separate ? 1 : spp); s++)
                    {
                        int band = separate ? plane : s, at = (separate ? c : c * spp + s) * size;
                        cube[(band * height + r) * width + c] = (float)type.Decode(line.AsSpan(at, size), bigEndian: false);
                    }
            }
        return cube;
    }

    static void ReadTiledLine(Tiff tiff, byte[] line, int row, int plane, int width)
    {
        int tile = 16, bytesPerPixel = line.Length / width;
        var data = new byte[tiff.TileSize()];
        for (int x = 0; x < width; x += tile)
        {
            tiff.ReadTile(data, 0, x, row, 0, (short)plane);
            int n = Math.Min(tile, width - x) * bytesPerPixel;
            Array.Copy(data, (row % tile) * tile * bytesPerPixel, line, x * bytesPerPixel, n);
        }
    }
}
