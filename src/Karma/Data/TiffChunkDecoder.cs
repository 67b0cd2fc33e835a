using System.IO.Compression;
using System.Runtime.InteropServices;

namespace Karma.Data;

/// <summary>
/// Decodes one strip or tile of a little-endian TIFF from its stored bytes, for the codecs hyperspectral GeoTIFFs
/// use: none, Deflate (through .NET's native zlib) and LZW, with no predictor, horizontal differencing (2) or the
/// floating-point predictor (3). It gives the bytes LibTiff's ReadEncodedStrip/Tile gives, and needs no shared
/// state, so chunks decode on several threads at once. Anything else (big-endian integers, JPEG, old-style LZW, …)
/// is left to LibTiff: <see cref="TryCreate"/> returns null.
/// </summary>
sealed class TiffChunkDecoder
{
    readonly int compression, predictor, bytesPerSample, stride, rowBytes;

    TiffChunkDecoder(int compression, int predictor, int bytesPerSample, int stride, int rowBytes)
        => (this.compression, this.predictor, this.bytesPerSample, this.stride, this.rowBytes) = (compression, predictor, bytesPerSample, stride, rowBytes);

    /// <summary>
    /// A decoder for chunks <paramref name="chunkWidth"/> pixels wide of <paramref name="samplesPerPixel"/> samples
    /// (1 for planar files), or null when LibTiff has to decode them.
    /// </summary>
    public static TiffChunkDecoder? TryCreate(int compression, int predictor, int bitsPerSample, int sampleFormat, int samplesPerPixel, int chunkWidth, bool bigEndian)
    {
        bool codec = compression is 1 or 5 or 8 or 32946;
        bool integer = sampleFormat is 1 or 2 && bitsPerSample is 8 or 16 or 32;
        bool floating = sampleFormat == 3 && bitsPerSample is 32 or 64;
        // The floating-point predictor returns native order whatever the file's; everything else would need swapping.
        bool order = !bigEndian || bitsPerSample == 8 || predictor == 3;
        bool fits = predictor switch { 1 => true, 2 => integer, 3 => floating, _ => false };
        if (!codec || !fits || !order || !(integer || floating) || !BitConverter.IsLittleEndian) return null;
        int bytes = bitsPerSample / 8;
        return new TiffChunkDecoder(compression, predictor, bytes, samplesPerPixel, chunkWidth * samplesPerPixel * bytes);
    }

    /// <summary>
    /// Decodes <paramref name="stored"/> into <paramref name="decoded"/> (a whole chunk; a short last strip leaves the
    /// rest as it was) and returns how many bytes it wrote; throws <see cref="InvalidDataException"/> on a damaged chunk.
    /// </summary>
    public int Decode(ReadOnlySpan<byte> stored, Span<byte> decoded)
    {
        int length = compression switch
        {
            1 => Copy(stored, decoded),
            5 => Lzw.Decode(stored, decoded),
            _ => Inflate(stored, decoded),
        };
        int rows = length / rowBytes;
        for (int r = 0; r < rows; r++)
        {
            var row = decoded.Slice(r * rowBytes, rowBytes);
            if (predictor == 2) UndoDifferencing(row);
            else if (predictor == 3) UndoFloatingPoint(row);
        }
        return length;
    }

    static int Copy(ReadOnlySpan<byte> stored, Span<byte> decoded)
    {
        int n = Math.Min(stored.Length, decoded.Length);
        stored[..n].CopyTo(decoded);
        return n;
    }

    static unsafe int Inflate(ReadOnlySpan<byte> stored, Span<byte> decoded)
    {
        fixed (byte* p = stored)
        {
            using var source = new UnmanagedMemoryStream(p, stored.Length);
            using var zlib = new ZLibStream(source, CompressionMode.Decompress);
            int total = 0, read;
            while (total < decoded.Length && (read = zlib.Read(decoded[total..])) > 0) total += read;
            return total;
        }
    }

    /// <summary>Predictor 2: each sample was stored as its difference from the same sample of the previous pixel.</summary>
    void UndoDifferencing(Span<byte> row)
    {
        switch (bytesPerSample)
        {
            case 1:
                for (int i = stride; i < row.Length; i++) row[i] += row[i - stride];
                break;
            case 2:
            {
                var v = MemoryMarshal.Cast<byte, ushort>(row);
                for (int i = stride; i < v.Length; i++) v[i] += v[i - stride];
                break;
            }
            default:
            {
                var v = MemoryMarshal.Cast<byte, uint>(row);
                for (int i = stride; i < v.Length; i++) v[i] += v[i - stride];
                break;
            }
        }
    }

    /// <summary>
    /// Predictor 3: the row's samples were split into byte planes, most significant first, and the bytes differenced
    /// (every <c>stride</c> bytes apart); undo the sums, then gather each sample's bytes back in little-endian order.
    /// </summary>
    void UndoFloatingPoint(Span<byte> row)
    {
        for (int i = stride; i < row.Length; i++) row[i] += row[i - stride];
        int count = row.Length / bytesPerSample;
        var planes = System.Buffers.ArrayPool<byte>.Shared.Rent(row.Length);
        try
        {
            row.CopyTo(planes);
            for (int b = 0; b < bytesPerSample; b++)
            {
                var plane = planes.AsSpan((bytesPerSample - 1 - b) * count, count);
                for (int i = 0, at = b; i < count; i++, at += bytesPerSample) row[at] = plane[i];
            }
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(planes); }
    }

    /// <summary>TIFF's LZW: codes of 9–12 bits, most significant bit first, widening one code early (at 511, 1023, 2047).</summary>
    static class Lzw
    {
        const int Clear = 256, End = 257, First = 258, MaxCodes = 4096;

        public static int Decode(ReadOnlySpan<byte> stored, Span<byte> decoded)
        {
            // The old, LSB-first LZW of libtiff before 5.0 starts 0x00 0x01: LibTiff reads it (TryCreate callers fall back).
            if (stored.Length >= 2 && stored[0] == 0 && (stored[1] & 1) != 0)
                throw new InvalidDataException("old-style LZW");
            // Each table entry is (prefix code, last byte, length); strings are written back to front.
            Span<short> prefix = stackalloc short[MaxCodes];
            Span<byte> suffix = stackalloc byte[MaxCodes];
            Span<short> length = stackalloc short[MaxCodes];
            for (int i = 0; i < 256; i++) { prefix[i] = -1; suffix[i] = (byte)i; length[i] = 1; }
            int next = First, width = 9, previous = -1, written = 0;
            long bits = 0;
            int held = 0, at = 0;
            while (written < decoded.Length)
            {
                while (held < width)
                {
                    if (at >= stored.Length) return written;        // no end code: stop where the data stops, as LibTiff does
                    bits = (bits << 8) | stored[at++];
                    held += 8;
                }
                int code = (int)(bits >> (held - width)) & ((1 << width) - 1);
                held -= width;
                if (code == End) break;
                if (code == Clear)
                {
                    next = First;
                    width = 9;
                    previous = -1;
                    continue;
                }
                if (previous < 0)
                {
                    if (code > 255) throw new InvalidDataException($"LZW code {code} after a clear code");
                    decoded[written++] = (byte)code;
                    previous = code;
                    continue;
                }
                int emit = code < next ? code : code == next ? previous : throw new InvalidDataException($"LZW code {code} beyond the table ({next})");
                int n = length[emit] + (code == next ? 1 : 0);
                if (written + n > decoded.Length) n = decoded.Length - written;   // a chunk's last string may run past the chunk
                // Write the string of `emit` (plus its own first byte for the code == next case) back to front.
                int end = written + length[emit] + (code == next ? 1 : 0);
                int position = end - 1;
                byte firstByte = 0;
                if (code == next) position--;
                for (int c = emit; c >= 0; c = prefix[c], position--)
                {
                    firstByte = suffix[c];
                    if (position < decoded.Length) decoded[position] = firstByte;
                }
                if (code == next && end - 1 < decoded.Length) decoded[end - 1] = firstByte;
                written += n;
                if (next < MaxCodes)
                {
                    prefix[next] = (short)previous;
                    suffix[next] = firstByte;
                    length[next] = (short)(length[previous] + 1);
                    next++;
                }
                if (next + 1 >= 1 << width && width < 12) width++;
                previous = code;
            }
            return written;
        }
    }
}
