using System.Numerics;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using PureHDF;
using PureHDF.VOL.Native;
using PureHDF.Selections;

namespace Karma.Data;

/// <summary>A variable in a MATLAB file: its name, MATLAB class ("double", "uint8", "char", ...) and size (MATLAB order).</summary>
public sealed record MatVariable(string Name, string Class, int[] Dimensions)
{
    /// <summary>Number of elements.</summary>
    public long Count => Dimensions.Aggregate(1L, (a, d) => a > 0 && d > long.MaxValue / a ? long.MaxValue : a * d);
    /// <summary>True for numeric and logical arrays, the only ones Karma reads values from.</summary>
    public bool IsNumeric => Class is not ("char" or "cell" or "struct" or "object" or "sparse" or "function" or "opaque");
    /// <summary>"95×95×156 double".</summary>
    public override string ToString() => $"{Name} ({string.Join('×', Dimensions)} {Class})";
}

/// <summary>A numeric MATLAB array with its values as doubles in MATLAB's column-major order.</summary>
public sealed record MatArray(MatVariable Variable, double[] Values)
{
    /// <summary>The value at a 0-based MATLAB index (row, column, page, ...).</summary>
    public double this[params int[] index]
    {
        get
        {
            long at = 0, stride = 1;
            for (int d = 0; d < index.Length; d++)
            {
                int size = d < Variable.Dimensions.Length ? Variable.Dimensions[d] : 1;
                if (index[d] < 0 || index[d] >= size) throw new IndexOutOfRangeException($"index {index[d]} in dimension {d} of {Variable}");
                at += index[d] * stride;
                stride *= size;
            }
            return Values[at];
        }
    }
}

/// <summary>
/// Reads MATLAB <c>.mat</c> files, the way classic hyperspectral benchmarks ship (Indian Pines, Pavia,
/// Salinas, Samson, Jasper Ridge): level 5 (v6/v7, optionally zlib-compressed per variable, either byte order)
/// written by hand from the published format, and v7.3, which is HDF5 after a 512-byte header, through PureHDF.
/// Listing variables reads only their headers; reading one variable inflates only that one.
/// </summary>
public static class MatFile
{
    const int MiInt8 = 1, MiUInt8 = 2, MiInt16 = 3, MiUInt16 = 4, MiInt32 = 5, MiUInt32 = 6, MiSingle = 7, MiDouble = 9;
    const int MiInt64 = 12, MiUInt64 = 13, MiMatrix = 14, MiCompressed = 15, MiUtf8 = 16, MiUtf16 = 17;

    static readonly string[] Classes = ["", "cell", "struct", "object", "char", "sparse", "double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "function", "opaque"];

    /// <summary>The file's variables, in file order.</summary>
    public static IReadOnlyList<MatVariable> List(string path) =>
        IsHdf5(path) ? Damaged(path, () => Hdf5Variables(path)) : Level5(path, null).Variables;

    /// <summary>Runs an HDF5 read, turning whatever PureHDF throws on a damaged file into one clear error.</summary>
    static T Damaged<T>(string path, Func<T> read)
    {
        try { return read(); }
        catch (Exception e) when (e is not KarmaException and not OutOfMemoryException)
        {
            throw new SceneFileException(path, $"says MATLAB 7.3 but its HDF5 content cannot be read ({e.Message}): the file is truncated or damaged.", e);
        }
    }

    /// <summary>Reads the numeric variable <paramref name="name"/>, or throws listing the variables there are.</summary>
    public static MatArray Read(string path, string name)
    {
        var variables = List(path);
        var variable = variables.FirstOrDefault(v => v.Name == name)
                       ?? throw new SceneFileException(path, $"has no variable '{name}'. It holds: {string.Join(", ", variables)}.");
        if (!variable.IsNumeric)
            throw new SceneFileException(path, $"variable {variable} is not a numeric array; Karma reads numeric and logical arrays.");
        return IsHdf5(path) ? Damaged(path, () => ReadHdf5(path, variable)) : Level5(path, name).Array!;
    }

    static bool IsHdf5(string path)
    {
        if (!File.Exists(path)) throw new SceneFileException(path, "does not exist.");
        using var stream = File.OpenRead(path);
        var header = new byte[128];
        int n = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        string text = Encoding.ASCII.GetString(header, 0, Math.Min(n, 116));
        if (n < 128 || !text.StartsWith("MATLAB", StringComparison.Ordinal))
            throw new SceneFileException(path, "is not a MATLAB level 5 or v7.3 file (no 'MATLAB' header). Level 4 files are not read: re-save with save(..., '-v7').");
        return text.StartsWith("MATLAB 7.3", StringComparison.Ordinal);
    }

    // ---- Level 5 -------------------------------------------------------------------------------------------

    /// <summary>Walks the top-level elements; lists every variable and, when <paramref name="wanted"/> is given, decodes that one.</summary>
    static (List<MatVariable> Variables, MatArray? Array) Level5(string path, string? wanted)
    {
        using var file = File.OpenRead(path);
        var header = new byte[128];
        file.ReadExactly(header);
        bool bigEndian = header[126] == 'M' && header[127] == 'I';
        if (!bigEndian && !(header[126] == 'I' && header[127] == 'M'))
            throw new SceneFileException(path, "has a MATLAB header without a byte-order mark ('IM' or 'MI' at byte 126): the file is damaged.");
        var variables = new List<MatVariable>();
        var tag = new byte[8];
        while (file.Position + 8 <= file.Length)
        {
            long start = file.Position;
            file.ReadExactly(tag);
            int type = ReadInt(tag, 0, bigEndian), size = ReadInt(tag, 4, bigEndian);
            long end = start + 8 + size;
            if (size < 0 || end > file.Length)
                throw new SceneFileException(path, $"has an element at byte {start} claiming {size} bytes, past the end of the file ({file.Length} bytes): the file is truncated.");
            if (type is MiMatrix or MiCompressed)
            {
                try
                {
                    using var body = new ReadOnlySubStream(file, start + 8, size);
                    using Stream content = type == MiCompressed ? new ZLibStream(body, CompressionMode.Decompress) : body;
                    if (type == MiCompressed)
                    {
                        var inner = ReadExactly(content, 8);
                        if (ReadInt(inner, 0, bigEndian) != MiMatrix) { file.Position = Align(end, type); continue; }
                    }
                    // Deflate expands at most ~1032:1, so no honest element inflates beyond this.
                    long limit = type == MiCompressed ? size * 1100L + (1 << 20) : size;
                    var reader = new Level5Reader(content, bigEndian, path, limit);
                    var variable = reader.ReadMatrixHeader();
                    variables.Add(variable);
                    if (variable.Name == wanted)
                        return (variables, new MatArray(variable, reader.ReadValues(variable)));
                }
                catch (Exception e) when (e is InvalidDataException or IOException and not EndOfStreamException)
                {
                    throw new SceneFileException(path, $"has a compressed variable at byte {start} that does not inflate: {e.Message}", e);
                }
                catch (EndOfStreamException e) { throw new SceneFileException(path, $"has a variable at byte {start} that ends early: the file is truncated or damaged.", e); }
            }
            file.Position = Align(end, type);
        }
        return (variables, null);
    }

    static long Align(long end, int type) => type == MiCompressed ? end : (end + 7) & ~7L;

    static int ReadInt(ReadOnlySpan<byte> b, int at, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadInt32BigEndian(b[at..]) : BinaryPrimitives.ReadInt32LittleEndian(b[at..]);

    /// <summary>
    /// <paramref name="count"/> bytes from <paramref name="s"/>. Large counts are read in 16 MiB pieces into a growing buffer,
    /// so an element that claims gigabytes the stream does not hold fails at the stream's end (EndOfStreamException)
    /// instead of allocating the claim first.
    /// </summary>
    static byte[] ReadExactly(Stream s, int count)
    {
        const int Piece = 16 << 20;
        // A claimed size is trusted for one allocation only when it is small or the stream's known length already bounds
        // it (an uncompressed file); otherwise (a deflate stream, whose length is unknown) a damaged size must fail at the
        // stream's end before gigabytes are allocated, so the bytes are collected piece by piece.
        if (count <= Piece || (s.CanSeek && count <= s.Length - s.Position))
        {
            var buffer = new byte[count];
            s.ReadExactly(buffer);
            return buffer;
        }
        using var collected = new MemoryStream();
        var piece = new byte[Piece];
        for (int left = count; left > 0;)
        {
            int n = Math.Min(left, Piece);
            s.ReadExactly(piece, 0, n);
            collected.Write(piece, 0, n);
            left -= n;
        }
        return collected.ToArray();
    }

    /// <summary>Reads the sub-elements of one miMATRIX element from a stream positioned after its tag.</summary>
    sealed class Level5Reader(Stream stream, bool bigEndian, string path, long limit)
    {
        /// <summary>One sub-element: (data type, bytes), in the small (4-byte) or normal form, padded to 8 bytes.</summary>
        (int Type, byte[] Data) Element()
        {
            var tag = ReadExactly(stream, 8);
            int first = ReadInt(tag, 0, bigEndian);
            if ((first >>> 16) != 0)
            {
                // Small data element: size in the upper half of the first word, data in the second.
                int n = first >>> 16;
                return (first & 0xFFFF, tag.AsSpan(4, Math.Min(n, 4)).ToArray());
            }
            int size = ReadInt(tag, 4, bigEndian);
            if (size < 0 || size > limit)
                throw new SceneFileException(path, $"has a sub-element claiming {size} bytes inside a variable of at most {limit}: the file is damaged.");
            var data = ReadExactly(stream, size);
            int pad = (8 - size % 8) % 8;
            if (pad > 0) ReadExactly(stream, pad);
            return (first, data);
        }

        public MatVariable ReadMatrixHeader()
        {
            var (_, flags) = Element();
            if (flags.Length < 4) throw new SceneFileException(path, $"has array flags of {flags.Length} bytes where MATLAB writes 8: the file is damaged.");
            int cls = flags[bigEndian ? 3 : 0], bits = flags[bigEndian ? 2 : 1];
            string name = cls < Classes.Length ? Classes[cls] : $"class {cls}";
            if ((bits & 0x02) != 0 && name != "sparse") name = "logical";
            if ((bits & 0x08) != 0) name = "complex " + name;
            var (_, dimBytes) = Element();
            var dims = new int[dimBytes.Length / 4];
            for (int i = 0; i < dims.Length; i++) dims[i] = ReadInt(dimBytes, 4 * i, bigEndian);
            if (dims.Length < 2 || dims.Any(d => d < 0))
                throw new SceneFileException(path, $"has a variable with dimensions [{string.Join(", ", dims)}]: the file is damaged.");
            var (_, nameBytes) = Element();
            return new MatVariable(Encoding.UTF8.GetString(nameBytes), name, dims);
        }

        public double[] ReadValues(MatVariable variable)
        {
            if (variable.Class.StartsWith("complex", StringComparison.Ordinal))
                throw new SceneFileException(path, $"variable {variable} is complex; Karma reads real arrays.");
            var (type, data) = Element();
            long count = variable.Count;
            int size = type switch
            {
                MiInt8 or MiUInt8 or MiUtf8 => 1,
                MiInt16 or MiUInt16 or MiUtf16 => 2,
                MiInt32 or MiUInt32 or MiSingle => 4,
                MiDouble or MiInt64 or MiUInt64 => 8,
                _ => throw new SceneFileException(path, $"variable {variable} stores its values as MAT data type {type}, which Karma does not read."),
            };
            if (count > data.Length / size)
                throw new SceneFileException(path, $"variable {variable} holds {data.Length / size} values but its size says {count}: the file is damaged.");
            var values = new double[count];
            var raster = type switch
            {
                MiUInt8 or MiUtf8 => RasterDataType.Byte, MiInt16 => RasterDataType.Int16, MiUInt16 or MiUtf16 => RasterDataType.UInt16,
                MiInt32 => RasterDataType.Int32, MiUInt32 => RasterDataType.UInt32, MiSingle => RasterDataType.Float32,
                MiDouble => RasterDataType.Float64, MiInt64 => RasterDataType.Int64, MiUInt64 => RasterDataType.UInt64,
                _ => (RasterDataType?)null,
            };
            for (long i = 0; i < count; i++)
                values[i] = raster is { } t ? t.Decode(data.AsSpan((int)(i * size), size), bigEndian) : (sbyte)data[i];
            return values;
        }
    }

    /// <summary>A read-only window onto part of another stream, so a compressed element can be inflated in place.</summary>
    sealed class ReadOnlySubStream(Stream inner, long offset, long length) : Stream
    {
        long position;
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => position; set => position = value; }
        public override int Read(byte[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));
        public override int Read(Span<byte> buffer)
        {
            int n = (int)Math.Min(buffer.Length, length - position);
            if (n <= 0) return 0;
            inner.Position = offset + position;
            n = inner.Read(buffer[..n]);
            position += n;
            return n;
        }
        public override long Seek(long o, SeekOrigin origin) => position = origin switch
        {
            SeekOrigin.Begin => o, SeekOrigin.Current => position + o, _ => length + o,
        };
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int index, int count) => throw new NotSupportedException();
    }

    // ---- v7.3 (HDF5) ---------------------------------------------------------------------------------------

    static NativeFile OpenHdf5(string path)
    {
        var file = File.OpenRead(path);
        // MATLAB puts a 512-byte user block before the HDF5 superblock; PureHDF finds the superblock there.
        try { return H5File.Open(file, leaveOpen: false); }
        catch (Exception e) when (e is not KarmaException)
        {
            file.Dispose();
            throw new SceneFileException(path, $"says MATLAB 7.3 but its HDF5 part cannot be opened ({e.Message}): the file is damaged.", e);
        }
    }

    static List<MatVariable> Hdf5Variables(string path)
    {
        var list = new List<MatVariable>();
        // The root's hard links by name (Hdf5Structure): PureHDF's Children() follows soft and external links and
        // recurses without end on a link cycle. Only an unusual layout (dense link storage) takes Children() directly.
        List<string>? names;
        try { names = Hdf5Structure.HardLinks(path); }
        catch (InvalidDataException e) { throw new SceneFileException(path, $"says MATLAB 7.3 but its HDF5 structure is damaged ({KarmaException.Quote(e.Message)})."); }
        using var h5 = OpenHdf5(path);
        var children = names is null ? h5.Children() : names.Select(n => h5.Get(n));
        foreach (var child in children)
        {
            if (child is not IH5Dataset dataset || child.Name.StartsWith('#')) continue;
            string cls = child.AttributeExists("MATLAB_class") ? child.Attribute("MATLAB_class").Read<string>() : StoredClass(dataset.Type) ?? "unknown";
            // HDF5 lists MATLAB's dimensions in reverse.
            var dims = dataset.Space.Dimensions.Reverse().Select(d => checked((int)d)).ToArray();
            list.Add(new MatVariable(child.Name, cls, dims));
        }
        return list;
    }

    static MatArray ReadHdf5(string path, MatVariable variable)
    {
        var layout = Hdf5Structure.Chunks(path, variable.Name);
        long fileLength = new FileInfo(path).Length;
        using var h5 = OpenHdf5(path);
        var dataset = h5.Dataset(variable.Name);
        // Read by what the file stores (MATLAB keeps logical as uint8); a type no MATLAB numeric class has is named, not called damage.
        string stored = StoredClass(dataset.Type)
            ?? throw new SceneFileException(path, $"variable {variable.Name} is stored as HDF5 {Describe(dataset.Type)}, which Karma does not read; save the cube as single or double.");
        if (stored != variable.Class && !(variable.Class == "logical" && stored == "uint8") && variable.Class != "unknown")
            throw new SceneFileException(path, $"variable {variable.Name} says MATLAB class {KarmaException.Quote(variable.Class, 20)} but is stored as HDF5 {Describe(dataset.Type)}; the file is inconsistent.");
        double[] values = stored switch
        {
            "double" => ReadChunks<double>(path, dataset, layout, fileLength),
            "single" => Widen(ReadChunks<float>(path, dataset, layout, fileLength)),
            "uint8" => Widen(ReadChunks<byte>(path, dataset, layout, fileLength)),
            "int8" => Widen(ReadChunks<sbyte>(path, dataset, layout, fileLength)),
            "int16" => Widen(ReadChunks<short>(path, dataset, layout, fileLength)),
            "uint16" => Widen(ReadChunks<ushort>(path, dataset, layout, fileLength)),
            "int32" => Widen(ReadChunks<int>(path, dataset, layout, fileLength)),
            "uint32" => Widen(ReadChunks<uint>(path, dataset, layout, fileLength)),
            "int64" => Widen(ReadChunks<long>(path, dataset, layout, fileLength)),
            "uint64" => Widen(ReadChunks<ulong>(path, dataset, layout, fileLength)),
            _ => throw new SceneFileException(path, $"variable {variable} has a MATLAB class Karma does not read."),
        };
        return new MatArray(variable, values);
    }

    /// <summary>The MATLAB numeric class whose values an HDF5 type stores, or null for any other type (float16, compound, enum, string, …).</summary>
    static string? StoredClass(IH5DataType type) => (type.Class, type.Size) switch
    {
        (H5DataTypeClass.FloatingPoint, 8) => "double",
        (H5DataTypeClass.FloatingPoint, 4) => "single",
        (H5DataTypeClass.FixedPoint, 1) => type.FixedPoint.IsSigned ? "int8" : "uint8",
        (H5DataTypeClass.FixedPoint, 2) => type.FixedPoint.IsSigned ? "int16" : "uint16",
        (H5DataTypeClass.FixedPoint, 4) => type.FixedPoint.IsSigned ? "int32" : "uint32",
        (H5DataTypeClass.FixedPoint, 8) => type.FixedPoint.IsSigned ? "int64" : "uint64",
        _ => null,
    };

    static string Describe(IH5DataType type) => type.Class switch
    {
        H5DataTypeClass.FloatingPoint => $"{8 * type.Size}-bit floats",
        H5DataTypeClass.FixedPoint => $"{8 * type.Size}-bit {(type.FixedPoint.IsSigned ? "signed" : "unsigned")} integers",
        var other => $"{other.ToString().ToLowerInvariant()} values ({type.Size} bytes each)",
    };

    static double[] Widen<T>(T[] values) where T : unmanaged, INumberBase<T>
    {
        var wide = new double[values.Length];
        for (int i = 0; i < values.Length; i++) wide[i] = double.CreateTruncating(values[i]);
        return wide;
    }

    /// <summary>
    /// The whole dataset in HDF5 (row-major) order. A chunked dataset whose index and filters Karma reads itself (B-tree v1,
    /// deflate, shuffle, Fletcher-32: what MATLAB and h5py write) is read by <see cref="ReadStoredChunks{T}"/>; any other is
    /// read from PureHDF one chunk-sized hyperslab at a time and scattered into place: asking PureHDF for the whole array at
    /// once walks it in runs along the last dimension and, when chunks are narrow there (MATLAB writes e.g. 64×100×2),
    /// inflates each chunk again for every run (90 s for 2.5 MB).
    /// </summary>
    static T[] ReadChunks<T>(string path, IH5Dataset dataset, Hdf5Structure.ChunkedLayout? layout, long fileLength) where T : unmanaged
    {
        long indexed = layout?.Chunks.Count ?? -1;
        var dims = dataset.Space.Dimensions;
        if (dataset.Layout.Class != H5DataLayoutClass.Chunked || dims.Length == 0)
        {
            // Unchunked values are stored as they are: more than the file holds means damaged dimensions.
            if (dims.Aggregate(1.0, (a, d) => a * d) * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() > fileLength)
                throw new InvalidDataException($"dimensions [{string.Join(", ", dims)}] need more bytes than the file has");
            return dataset.Read<T[]>();
        }
        int rank = dims.Length;
        var chunk = dataset.Layout.Chunks.Take(rank).Select(c => (ulong)c).ToArray();
        // A damaged layout could name chunks of size 0 (no progress) or more chunks than elements: refuse before looping.
        if (chunk.Length != rank || chunk.Any(c => c == 0) || dims.Any(d => d == 0))
            throw new InvalidDataException($"chunks [{string.Join(", ", chunk)}] do not fit dimensions [{string.Join(", ", dims)}]");
        // MATLAB writes every chunk: dimensions that need more chunks than the index holds were damaged (and would be read
        // as billions of fill values).
        double grid = dims.Zip(chunk, (d, c) => Math.Ceiling((double)d / c)).Aggregate(1.0, (a, n) => a * n);
        if (indexed >= 0 && grid > indexed)
            throw new InvalidDataException($"dimensions [{string.Join(", ", dims)}] need {grid:0} chunks but the file indexes {indexed}");
        if (dims.Aggregate(1.0, (a, d) => a * d) > Array.MaxLength)
            throw new InvalidDataException($"dimensions [{string.Join(", ", dims)}] exceed what one array holds");
        if (ReadStoredChunks<T>(path, dims, layout) is { } direct) return direct;
        var result = new T[checked((long)dims.Aggregate(1UL, (a, d) => a * d))];
        var start = new ulong[rank];
        var block = new ulong[rank];
        var buffer = new T[checked((long)chunk.Aggregate(1UL, (a, d) => a * d))];
        while (true)
        {
            for (int d = 0; d < rank; d++) block[d] = Math.Min(chunk[d], dims[d] - start[d]);
            int count = (int)block.Aggregate(1UL, (a, d) => a * d);
            dataset.Read(buffer.AsMemory(0, count), new HyperslabSelection(rank, start, block), memoryDims: [(ulong)count]);
            ScatterChunk<T>(buffer.AsSpan(0, count), block, start, dims, result);       // the clipped block is a whole chunk of its own shape
            int axis = rank - 1;                                    // next chunk, last dimension fastest
            while (axis >= 0 && (start[axis] += chunk[axis]) >= dims[axis]) start[axis--] = 0;
            if (axis < 0) return result;
        }
    }

    const int Deflate = 1, Shuffle = 2, Fletcher32 = 3;

    /// <summary>
    /// Reads every chunk straight from the file and undoes its filters in parallel (native zlib through
    /// <see cref="ZLibStream"/>), each chunk written to its own part of the result. Null, and PureHDF reads the dataset, when
    /// the layout is one this path does not take: unknown filters or byte order, an element size that is not
    /// <typeparamref name="T"/>'s, or an index that does not hold each chunk of the grid exactly once (missing chunks
    /// would need the fill value). Fletcher-32 checksums are stripped, not verified.
    /// </summary>
    internal static T[]? ReadStoredChunks<T>(string path, ulong[] dims, Hdf5Structure.ChunkedLayout? layout) where T : unmanaged
    {
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), rank = dims.Length;
        if (layout is not { Dims: { } stored, LittleEndian: true, Filters: { } filters } || !stored.SequenceEqual(dims)
            || layout.ElementSize != size || layout.ChunkDims.Length != rank || filters.Any(f => f is not (Deflate or Shuffle or Fletcher32)))
            return null;
        var chunk = layout.ChunkDims;
        double elements = chunk.Aggregate(1.0, (a, c) => a * c);
        if (elements * size > 1 << 30) return null;                          // checked as a double: damaged sizes overflow a long
        long chunkElements = (long)elements;
        var grid = dims.Zip(chunk, (d, c) => (d + c - 1) / c).ToArray();
        var covered = new bool[(long)grid.Aggregate(1UL, (a, n) => a * n)];
        foreach (var c in layout.Chunks)
        {
            long cell = 0;
            for (int d = 0; d < rank; d++)
            {
                if (c.Offset[d] % chunk[d] != 0 || c.Offset[d] >= dims[d]) return null;
                cell = cell * (long)grid[d] + (long)(c.Offset[d] / chunk[d]);
            }
            if (covered[cell]) return null;
            covered[cell] = true;
        }
        if (layout.Chunks.Count != covered.Length) return null;
        var result = new T[checked((long)dims.Aggregate(1UL, (a, d) => a * d))];
        int chunkBytes = (int)(chunkElements * size);
        // What undoing filter f must give: the chunk plus the checksums of the Fletcher-32 filters applied before f.
        int Expected(int f, uint mask) => chunkBytes + 4 * Enumerable.Range(0, f).Count(i => filters[i] == Fletcher32 && (mask & (1u << i)) == 0);
        using var file = File.OpenHandle(path);
        try
        {
            Parallel.ForEach(layout.Chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, c => ReadChunk(c));
        }
        catch (AggregateException e) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw(); }
        return result;

        void ReadChunk(Hdf5Structure.StoredChunk c)
        {
            var raw = new byte[c.Size];
            int read = 0, n;
            while (read < raw.Length && (n = RandomAccess.Read(file, raw.AsSpan(read), c.Address + read)) > 0) read += n;
            if (read < raw.Length) throw new InvalidDataException($"the chunk at [{string.Join(", ", c.Offset)}] runs past the file's end");
            var bytes = raw;
            for (int f = filters.Length - 1; f >= 0; f--)
            {
                if ((c.FilterMask & (1u << f)) != 0) continue;                     // this filter was skipped for this chunk
                bytes = filters[f] switch
                {
                    Fletcher32 => bytes.Length >= 4 ? bytes[..^4] : throw new InvalidDataException("a checksummed chunk is shorter than its checksum"),
                    Deflate => Inflate(bytes, Expected(f, c.FilterMask), c.Offset),
                    _ => Unshuffle(bytes, size),
                };
            }
            if (bytes.Length != chunkBytes)
                throw new InvalidDataException($"the chunk at [{string.Join(", ", c.Offset)}] holds {bytes.Length} bytes, not {chunkBytes}");
            ScatterChunk(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes), chunk, c.Offset, dims, result);
        }
    }

    static byte[] Inflate(byte[] compressed, int expected, ulong[] offset)
    {
        // Deflate expands at most about 1032:1: a damaged layout claiming more is refused before its buffer is allocated.
        if (expected > 1032L * compressed.Length + 64)
            throw new InvalidDataException($"the chunk at [{string.Join(", ", offset)}] holds {compressed.Length} compressed bytes, which cannot inflate to {expected}");
        var output = new byte[expected];
        using var zlib = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress);
        int n = zlib.ReadAtLeast(output, expected, throwOnEndOfStream: false);
        if (n != expected || zlib.ReadByte() >= 0)
            throw new InvalidDataException($"the chunk at [{string.Join(", ", offset)}] inflates to {(n != expected ? n : "more than " + expected)} bytes, not {expected}");
        return output;
    }

    /// <summary>Undoes HDF5's shuffle filter: byte j of every element was stored together, element after element.</summary>
    static byte[] Unshuffle(byte[] shuffled, int size)
    {
        var output = new byte[shuffled.Length];
        int elements = shuffled.Length / size;
        for (int j = 0; j < size; j++)
            for (int i = 0; i < elements; i++) output[i * size + j] = shuffled[j * elements + i];
        Array.Copy(shuffled, elements * size, output, elements * size, shuffled.Length - elements * size);
        return output;
    }

    /// <summary>Copies the part of a full stored chunk (<paramref name="chunk"/> dimensions, row-major) at <paramref name="start"/> that lies inside <paramref name="dims"/>.</summary>
    static void ScatterChunk<T>(ReadOnlySpan<T> values, ulong[] chunk, ulong[] start, ulong[] dims, T[] into)
    {
        int rank = chunk.Length;
        var inside = new ulong[rank];
        for (int d = 0; d < rank; d++) inside[d] = Math.Min(chunk[d], dims[d] - start[d]);
        int run = (int)inside[rank - 1];
        var index = new ulong[rank];                                // position inside the chunk, last axis always 0
        while (true)
        {
            long from = 0, to = 0;
            for (int d = 0; d < rank; d++)
            {
                from = from * (long)chunk[d] + (long)index[d];
                to = to * (long)dims[d] + (long)(start[d] + index[d]);
            }
            values.Slice((int)from, run).CopyTo(into.AsSpan((int)to, run));
            int axis = rank - 2;
            while (axis >= 0 && ++index[axis] == inside[axis]) index[axis--] = 0;
            if (axis < 0) return;
        }
    }
}
