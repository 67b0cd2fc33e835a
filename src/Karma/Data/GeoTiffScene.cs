using System.Globalization;
using BitMiracle.LibTiff.Classic;

namespace Karma.Data;

/// <summary>
/// A multi-band GeoTIFF read through LibTiff.NET: one band per sample plane (planar) or pixel-interleaved,
/// striped or tiled, any codec LibTiff decodes (none, Deflate, LZW, PackBits; predictors 2 and 3).
/// Windows are read chunk by chunk (a strip or tile of one plane), and recently decoded chunks are kept in a
/// byte-bounded cache (two rows of chunks across the scene, 64 MB–2 GB) so tiling a large scene never holds more than
/// that in memory, yet reading it top to bottom decodes each chunk once. Chunks in the common
/// codecs are decoded by <see cref="TiffChunkDecoder"/> from positional reads of the file, several at once; LibTiff
/// decodes the rest, one at a time.
/// Georeferencing comes from the GeoTIFF tags, wavelengths, FWHM, bad bands, scale and band names from GDAL's
/// per-band metadata (tag 42112), no-data from GDAL's tag 42113.
/// </summary>
public sealed class GeoTiffScene : HyperspectralScene
{
    const TiffTag ModelPixelScale = (TiffTag)33550, ModelTiepoint = (TiffTag)33922, ModelTransformation = (TiffTag)34264;
    const TiffTag GeoKeyDirectory = (TiffTag)34735, GdalMetadata = (TiffTag)42112, GdalNoData = (TiffTag)42113;
    const long MinCacheBytes = 64L << 20, MaxCacheBytes = 2L << 30;
    /// <summary>Room for two rows of chunks across the scene (every plane), so reading it top to bottom decodes each chunk once.</summary>
    long cacheBytes = MinCacheBytes;

    Tiff? tiff;
    TiffChunkDecoder? decoder;
    Microsoft.Win32.SafeHandles.SafeFileHandle? handle;
    long[] offsets = [], byteCounts = [];
    bool separate, tiled;
    int chunkWidth, chunkHeight, samplesPerChunkPixel, chunkBytes;
    readonly Dictionary<int, LinkedListNode<(int Index, byte[] Data)>> cache = [];
    readonly LinkedList<(int Index, byte[] Data)> recent = new();

    GeoTiffScene() { }

    /// <summary>Opens a GeoTIFF, checking its layout before any pixel is read.</summary>
    public static new GeoTiffScene Open(string path)
    {
        var tiff = TiffErrors.Open(path);
        try
        {
            int width = Field(tiff, TiffTag.IMAGEWIDTH) ?? 0, height = Field(tiff, TiffTag.IMAGELENGTH) ?? 0;
            int spp = Field(tiff, TiffTag.SAMPLESPERPIXEL) ?? 1, bits = Field(tiff, TiffTag.BITSPERSAMPLE) ?? 1;
            int format = Field(tiff, TiffTag.SAMPLEFORMAT) ?? 1;
            bool separate = (Field(tiff, TiffTag.PLANARCONFIG) ?? 1) == (int)PlanarConfig.SEPARATE && spp > 1;
            if (width <= 0 || height <= 0) throw new SceneFileException(path, $"declares {height}×{width} pixels; the TIFF is damaged.");
            var type = (bits, format) switch
            {
                (8, 1) => RasterDataType.Byte,
                (16, 1) => RasterDataType.UInt16,
                (16, 2) => RasterDataType.Int16,
                (32, 1) => RasterDataType.UInt32,
                (32, 2) => RasterDataType.Int32,
                (32, 3) => RasterDataType.Float32,
                (64, 3) => RasterDataType.Float64,
                _ => throw new SceneFileException(path, $"stores {bits}-bit samples of format {format}; Karma reads 8-bit unsigned, 16/32-bit integers and 32/64-bit floats. Convert it with gdal_translate -ot Float32."),
            };
            bool tiled = tiff.IsTiled();
            long chunk = tiled ? tiff.TileSize() : tiff.StripSize();
            if (chunk <= 0 || chunk > (1L << 30))
                throw new SceneFileException(path, $"declares {(tiled ? "tiles" : "strips")} of {chunk} bytes; the TIFF is damaged.");
            var scene = new GeoTiffScene
            {
                Path = path, Lines = height, Samples = width, Bands = spp, DataType = type,
                Interleave = separate ? Interleave.Bsq : Interleave.Bip,
                Metadata = ReadMetadata(tiff, path, spp),
                tiff = tiff, separate = separate, tiled = tiled,
                chunkWidth = tiled ? Field(tiff, TiffTag.TILEWIDTH)!.Value : width,
                chunkHeight = tiled ? Field(tiff, TiffTag.TILELENGTH)!.Value : Math.Min(height, Field(tiff, TiffTag.ROWSPERSTRIP) ?? height),
                samplesPerChunkPixel = separate ? 1 : spp,
                chunkBytes = tiled ? tiff.TileSize() : tiff.StripSize(),
            };
            long rowOfChunks = (long)(tiled ? (width + scene.chunkWidth - 1) / scene.chunkWidth : 1) * (separate ? spp : 1) * scene.chunkBytes;
            scene.cacheBytes = Math.Clamp(2 * rowOfChunks, MinCacheBytes, MaxCacheBytes);
            scene.decoder = TiffChunkDecoder.TryCreate(Field(tiff, TiffTag.COMPRESSION) ?? 1, Field(tiff, TiffTag.PREDICTOR) ?? 1, bits, format,
                                                       scene.samplesPerChunkPixel, scene.chunkWidth, tiff.IsBigEndian());
            if (scene.decoder is not null)
            {
                scene.offsets = tiff.GetField(tiled ? TiffTag.TILEOFFSETS : TiffTag.STRIPOFFSETS)?[0].TolongArray() ?? [];
                scene.byteCounts = tiff.GetField(tiled ? TiffTag.TILEBYTECOUNTS : TiffTag.STRIPBYTECOUNTS)?[0].TolongArray() ?? [];
                scene.handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            }
            return scene;
        }
        catch (Exception e) when (e is not KarmaException and not OutOfMemoryException)
        {
            tiff.Dispose();
            throw new SceneFileException(path, $"has TIFF tags Karma cannot use ({e.Message}): the file is damaged.", e);
        }
        catch
        {
            tiff.Dispose();
            throw;
        }
    }

    static int? Field(Tiff tiff, TiffTag tag) => tiff.GetField(tag) is { Length: > 0 } v ? v[0].ToInt() : null;

    /// <summary>The values of a tag LibTiff does not know, whatever shape LibTiff returns them in.</summary>
    static object? Custom(Tiff tiff, TiffTag tag)
    {
        var values = tiff.GetField(tag);
        if (values is null) return null;
        foreach (var v in values)
            if (v.Value is Array or string) return v.Value;
        return null;
    }

    static string? Text(Tiff tiff, TiffTag tag) => Custom(tiff, tag) switch
    {
        string s => s.TrimEnd('\0'),
        byte[] b => System.Text.Encoding.UTF8.GetString(b).TrimEnd('\0'),
        _ => null,
    };

    static double[]? Doubles(Tiff tiff, TiffTag tag) => Custom(tiff, tag) switch
    {
        double[] d => d,
        float[] f => f.Select(v => (double)v).ToArray(),
        byte[] b when b.Length % 8 == 0 => Enumerable.Range(0, b.Length / 8).Select(i => BitConverter.ToDouble(b, i * 8)).ToArray(),
        _ => null,
    };

    static ushort[]? UShorts(Tiff tiff, TiffTag tag) => Custom(tiff, tag) switch
    {
        ushort[] u => u,
        short[] s => s.Select(v => (ushort)v).ToArray(),
        byte[] b when b.Length % 2 == 0 => Enumerable.Range(0, b.Length / 2).Select(i => BitConverter.ToUInt16(b, i * 2)).ToArray(),
        _ => null,
    };

    static SceneMetadata ReadMetadata(Tiff tiff, string path, int bands)
    {
        var keys = GeoKeys(UShorts(tiff, GeoKeyDirectory));
        var metadata = new SceneMetadata
        {
            GeoTransform = GeoTransform(Doubles(tiff, ModelPixelScale), Doubles(tiff, ModelTiepoint), Doubles(tiff, ModelTransformation),
                                        pixelIsPoint: keys.GetValueOrDefault(1025) == 2),
            CoordinateSystem = keys.TryGetValue(3072, out int projected) && projected is > 0 and < 32767 ? $"EPSG:{projected}"
                             : keys.TryGetValue(2048, out int geographic) && geographic is > 0 and < 32767 ? $"EPSG:{geographic}" : null,
            NoDataValue = double.TryParse(Text(tiff, GdalNoData), NumberStyles.Float, CultureInfo.InvariantCulture, out double nd) ? nd : null,
        };
        return Text(tiff, GdalMetadata) is { } xml ? GdalBandMetadata.Apply(metadata, xml, bands, path) : metadata;
    }

    /// <summary>GeoKey id → value for keys stored inline in the directory (the ones that name a CRS or raster type).</summary>
    static Dictionary<int, int> GeoKeys(ushort[]? directory)
    {
        var keys = new Dictionary<int, int>();
        if (directory is null || directory.Length < 4) return keys;
        for (int i = 0; i < directory[3] && 4 + 4 * i + 3 < directory.Length; i++)
        {
            int at = 4 + 4 * i;
            if (directory[at + 1] == 0) keys[directory[at]] = directory[at + 3];
        }
        return keys;
    }

    /// <summary>GDAL's geotransform from tie point + pixel scale, or from the full model transformation.</summary>
    static double[]? GeoTransform(double[]? scale, double[]? tiepoint, double[]? transformation, bool pixelIsPoint)
    {
        double[]? gt = null;
        if (scale is { Length: >= 2 } && tiepoint is { Length: >= 6 })
            gt = [tiepoint[3] - tiepoint[0] * scale[0], scale[0], 0, tiepoint[4] + tiepoint[1] * scale[1], 0, -scale[1]];
        else if (transformation is { Length: >= 16 })
            gt = [transformation[3], transformation[0], transformation[1], transformation[7], transformation[4], transformation[5]];
        if (gt is not null && pixelIsPoint)
        {
            // GDAL reports the corner of the first pixel; a PixelIsPoint tie point names its centre.
            gt[0] -= 0.5 * gt[1] + 0.5 * gt[2];
            gt[3] -= 0.5 * gt[4] + 0.5 * gt[5];
        }
        return gt;
    }

    /// <summary>The decoded bytes of one strip or tile (native byte order), from the cache when recently used.</summary>
    byte[] Chunk(int index)
    {
        if (cache.TryGetValue(index, out var node))
        {
            recent.Remove(node);
            recent.AddFirst(node);
            return node.Value.Data;
        }
        var data = (refused.Contains(index) ? null : Decode(index)) ?? DecodeWithLibTiff(index);
        Keep(index, data);
        return data;
    }

    /// <summary>Chunks <see cref="Decode"/> already gave up on in a prefetch: LibTiff decodes them (or names their damage).</summary>
    readonly HashSet<int> refused = [];

    void Keep(int index, byte[] data)
    {
        cache[index] = recent.AddFirst((index, data));
        while ((long)recent.Count * chunkBytes > cacheBytes && recent.Count > 1)
        {
            cache.Remove(recent.Last!.Value.Index);
            recent.RemoveLast();
        }
    }

    /// <summary>Decodes the chunks of <paramref name="indices"/> not yet cached on every core, when Karma's own decoder reads this file.</summary>
    void Prefetch(IEnumerable<int> indices)
    {
        if (decoder is null) return;
        var missing = indices.Distinct().Where(i => !cache.ContainsKey(i) && !refused.Contains(i)).ToArray();
        if (missing.Length < 2) return;
        var decoded = new byte[]?[missing.Length];
        Parallel.For(0, missing.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => decoded[i] = Decode(missing[i]));
        for (int i = 0; i < missing.Length; i++)
            if (decoded[i] is { } data) Keep(missing[i], data);
            else refused.Add(missing[i]);                         // straight to LibTiff when read, not decoded twice
    }

    /// <summary>
    /// One chunk through <see cref="TiffChunkDecoder"/> from a positional read (safe on any thread), or null when it
    /// cannot (no decoder, a chunk it refuses or finds damaged): LibTiff then decodes it or names the damage.
    /// </summary>
    byte[]? Decode(int index)
    {
        if (decoder is null || handle is null || index >= offsets.Length || index >= byteCounts.Length) return null;
        long offset = offsets[index], count = byteCounts[index];
        if (count <= 0 || count > int.MaxValue || offset < 0 || offset + count > RandomAccess.GetLength(handle)) return null;
        var stored = System.Buffers.ArrayPool<byte>.Shared.Rent((int)count);
        try
        {
            int read = 0, n;
            while (read < count && (n = RandomAccess.Read(handle, stored.AsSpan(read, (int)count - read), offset + read)) > 0) read += n;
            if (read < count) return null;
            var data = new byte[chunkBytes];
            decoder.Decode(stored.AsSpan(0, (int)count), data);
            return data;
        }
        catch (Exception e) when (e is not OutOfMemoryException) { return null; }     // LibTiff decodes it again and names the damage
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(stored); }
    }

    byte[] DecodeWithLibTiff(int index)
    {
        var data = new byte[chunkBytes];
        int read;
        try { read = tiled ? tiff!.ReadEncodedTile(index, data, 0, -1) : tiff!.ReadEncodedStrip(index, data, 0, -1); }
        catch (Exception e) when (e is not KarmaException and not OutOfMemoryException) { read = -1; TiffErrors.Note(e.Message); }
        if (read < 0)
            throw new SceneFileException(Path, $"{(tiled ? "tile" : "strip")} {index} could not be decoded ({TiffErrors.Last ?? "unknown error"}): the file is truncated or damaged.");
        return data;
    }

    int ChunkIndex(int chunkRow, int chunkCol, int plane) => tiled
        ? tiff!.ComputeTile(chunkCol * chunkWidth, chunkRow * chunkHeight, 0, (short)plane)
        : tiff!.ComputeStrip(chunkRow * chunkHeight, (short)plane);

    /// <inheritdoc/>
    protected override void ReadWindowCore(int row, int col, int rows, int cols, ReadOnlySpan<int> bands, Span<float> destination)
    {
        // The chunks the window touches, in groups that fit half the cache: each group is decoded in parallel, then
        // copied out. Whole runs are converted at once: within a chunk a planar band's row is contiguous, and an
        // interleaved row holds every band of its pixels, which is converted once and then scattered to the wanted bands.
        var parts = new List<(int Plane, int Cy, int Cx)>();
        for (int plane = 0; plane < (separate ? bands.Length : 1); plane++)
            for (int cy = row / chunkHeight; cy * chunkHeight < row + rows; cy++)
                for (int cx = col / chunkWidth; cx * chunkWidth < col + cols; cx++)
                    parts.Add((plane, cy, cx));
        int group = (int)Math.Max(1, cacheBytes / 2 / chunkBytes);
        int size = DataType.Size(), spp = samplesPerChunkPixel;
        var spectra = separate ? null : new float[chunkWidth * spp];
        lock (cache)
            for (int first = 0; first < parts.Count; first += group)
            {
                var batch = parts.GetRange(first, Math.Min(group, parts.Count - first));
                var wanted = new int[batch.Count];
                for (int i = 0; i < batch.Count; i++) wanted[i] = ChunkIndex(batch[i].Cy, batch[i].Cx, separate ? bands[batch[i].Plane] : 0);
                Prefetch(wanted);
                for (int i = 0; i < batch.Count; i++)
                {
                    var (plane, cy, cx) = batch[i];
                    var data = Chunk(wanted[i]);
                    int c0 = Math.Max(col, cx * chunkWidth), c1 = Math.Min(col + cols, (cx + 1) * chunkWidth), width = c1 - c0;
                    for (int r = Math.Max(row, cy * chunkHeight); r < Math.Min(row + rows, (cy + 1) * chunkHeight); r++)
                    {
                        var stored = data.AsSpan(((r - cy * chunkHeight) * chunkWidth + c0 - cx * chunkWidth) * spp * size, width * spp * size);
                        if (separate)
                        {
                            DataType.DecodeRun(stored, destination.Slice((plane * rows + r - row) * cols + c0 - col, width), bigEndian: false);
                            continue;
                        }
                        DataType.DecodeRun(stored, spectra.AsSpan(0, width * spp), bigEndian: false);
                        for (int b = 0; b < bands.Length; b++)
                        {
                            var dst = destination.Slice((b * rows + r - row) * cols + c0 - col, width);
                            for (int c = 0, at = bands[b]; c < width; c++, at += spp) dst[c] = spectra![at];
                        }
                    }
                }
            }
    }

    /// <inheritdoc/>
    protected override double[] ReadPixelCore(int row, int col)
    {
        var result = new double[Bands];
        int size = DataType.Size(), cy = row / chunkHeight, cx = col / chunkWidth;
        int pixel = ((row - cy * chunkHeight) * chunkWidth + col - cx * chunkWidth) * samplesPerChunkPixel;
        lock (cache)
            for (int b = 0; b < Bands; b++)
            {
                var data = Chunk(ChunkIndex(cy, cx, separate ? b : 0));
                result[b] = DataType.Decode(data.AsSpan((pixel + (separate ? 0 : b)) * size, size), bigEndian: false);
            }
        return result;
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        tiff?.Dispose();
        tiff = null;
        handle?.Dispose();
        handle = null;
        cache.Clear();
        recent.Clear();
    }
}
