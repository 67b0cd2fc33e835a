using System.Buffers.Binary;

namespace Karma.Data;

/// <summary>Sample types of hyperspectral rasters, numbered as ENVI's <c>data type</c> header field.</summary>
public enum RasterDataType
{
    /// <summary>Unsigned 8-bit.</summary>
    Byte = 1,
    /// <summary>Signed 16-bit.</summary>
    Int16 = 2,
    /// <summary>Signed 32-bit.</summary>
    Int32 = 3,
    /// <summary>32-bit IEEE float.</summary>
    Float32 = 4,
    /// <summary>64-bit IEEE float.</summary>
    Float64 = 5,
    /// <summary>Unsigned 16-bit.</summary>
    UInt16 = 12,
    /// <summary>Unsigned 32-bit.</summary>
    UInt32 = 13,
    /// <summary>Signed 64-bit.</summary>
    Int64 = 14,
    /// <summary>Unsigned 64-bit.</summary>
    UInt64 = 15,
}

/// <summary>How band, row and column are ordered in a raster file.</summary>
public enum Interleave
{
    /// <summary>Band sequential: [band][row][column].</summary>
    Bsq,
    /// <summary>Band interleaved by line: [row][band][column].</summary>
    Bil,
    /// <summary>Band interleaved by pixel: [row][column][band].</summary>
    Bip,
}

/// <summary>Sizes and names of <see cref="RasterDataType"/> values.</summary>
public static class RasterDataTypes
{
    /// <summary>Bytes per sample.</summary>
    public static int Size(this RasterDataType t) => t switch
    {
        RasterDataType.Byte => 1,
        RasterDataType.Int16 or RasterDataType.UInt16 => 2,
        RasterDataType.Int32 or RasterDataType.UInt32 or RasterDataType.Float32 => 4,
        _ => 8,
    };

    /// <summary>Lower-case name used in JSON output ("int16", "float32", ...).</summary>
    public static string Name(this RasterDataType t) => t.ToString().ToLowerInvariant();

    /// <summary>The type for an ENVI <c>data type</c> code, or null for codes Karma does not read (complex types).</summary>
    public static RasterDataType? FromEnviCode(int code) =>
        Enum.IsDefined(typeof(RasterDataType), code) ? (RasterDataType)code : null;

    /// <summary>One stored sample, in the given byte order, as a double (exact for every type but 64-bit integers beyond 2^53).</summary>
    public static double Decode(this RasterDataType type, ReadOnlySpan<byte> b, bool bigEndian) => (type, bigEndian) switch
    {
        (RasterDataType.Byte, _) => b[0],
        (RasterDataType.Int16, false) => BinaryPrimitives.ReadInt16LittleEndian(b),
        (RasterDataType.Int16, true) => BinaryPrimitives.ReadInt16BigEndian(b),
        (RasterDataType.UInt16, false) => BinaryPrimitives.ReadUInt16LittleEndian(b),
        (RasterDataType.UInt16, true) => BinaryPrimitives.ReadUInt16BigEndian(b),
        (RasterDataType.Int32, false) => BinaryPrimitives.ReadInt32LittleEndian(b),
        (RasterDataType.Int32, true) => BinaryPrimitives.ReadInt32BigEndian(b),
        (RasterDataType.UInt32, false) => BinaryPrimitives.ReadUInt32LittleEndian(b),
        (RasterDataType.UInt32, true) => BinaryPrimitives.ReadUInt32BigEndian(b),
        (RasterDataType.Int64, false) => BinaryPrimitives.ReadInt64LittleEndian(b),
        (RasterDataType.Int64, true) => BinaryPrimitives.ReadInt64BigEndian(b),
        (RasterDataType.UInt64, false) => BinaryPrimitives.ReadUInt64LittleEndian(b),
        (RasterDataType.UInt64, true) => BinaryPrimitives.ReadUInt64BigEndian(b),
        (RasterDataType.Float32, false) => BinaryPrimitives.ReadSingleLittleEndian(b),
        (RasterDataType.Float32, true) => BinaryPrimitives.ReadSingleBigEndian(b),
        (RasterDataType.Float64, false) => BinaryPrimitives.ReadDoubleLittleEndian(b),
        _ => BinaryPrimitives.ReadDoubleBigEndian(b),
    };

    /// <summary>
    /// Converts a run of stored values to float in bulk: <paramref name="source"/> holds <paramref name="destination"/>'s
    /// length of values of this type. The common cases (native-order float32, int16, uint16) are a cast and a tight
    /// loop rather than a per-value switch, which is what makes window reads run near memory speed.
    /// </summary>
    public static void DecodeRun(this RasterDataType type, ReadOnlySpan<byte> source, Span<float> destination, bool bigEndian)
    {
        bool native = bigEndian != BitConverter.IsLittleEndian;
        switch (type)
        {
            case RasterDataType.Float32 when native:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(source)[..destination.Length].CopyTo(destination);
                return;
            case RasterDataType.Int16 when native:
            {
                var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(source);
                for (int i = 0; i < destination.Length; i++) destination[i] = values[i];
                return;
            }
            case RasterDataType.UInt16 when native:
            {
                var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(source);
                for (int i = 0; i < destination.Length; i++) destination[i] = values[i];
                return;
            }
            case RasterDataType.Byte:
                for (int i = 0; i < destination.Length; i++) destination[i] = source[i];
                return;
            default:
                int size = type.Size();
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)type.Decode(source.Slice(i * size, size), bigEndian);
                return;
        }
    }
}
