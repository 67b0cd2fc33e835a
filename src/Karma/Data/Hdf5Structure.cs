using System.Buffers.Binary;
using System.Text;

namespace Karma.Data;

/// <summary>
/// What Karma checks of an HDF5 file itself before PureHDF reads it, because PureHDF follows structures without limit:
/// it resolves every soft and external link while it enumerates a group (a link to itself recurses until the process dies
/// of a stack overflow, which no handler can catch), and it walks a chunk index round a cycle for ever. So the root group's
/// hard links are listed here without following any link (MATLAB v7.3 keeps its variables as hard links in the root), and a
/// dataset's chunk B-tree is walked once with every node and chunk checked. Reads the layouts HDF5 writes for MATLAB and
/// h5py files: superblocks 0–3, symbol tables (B-tree v1, local heap) or compact link messages, object headers v1 and v2,
/// layout messages v3; anything else is left to PureHDF (null / unchecked). Every read is bounds-checked, so a damaged file
/// gives <see cref="InvalidDataException"/>, never a crash.
/// </summary>
static class Hdf5Structure
{
    static readonly byte[] Signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0d, 0x0a, 0x1a, 0x0a];

    sealed class Reader(Microsoft.Win32.SafeHandles.SafeFileHandle file, long length, long @base, int offsetSize, int lengthSize)
    {
        public readonly long Length = length;
        public readonly int OffsetSize = offsetSize, LengthSize = lengthSize;

        public ReadOnlySpan<byte> At(long address, long count)
        {
            if (address < 0 || count < 0 || count > 1 << 24 || address + count > Length) throw new InvalidDataException($"HDF5 structure at {address} runs past the file's end");
            var bytes = new byte[count];
            int read = 0, n;
            while (read < count && (n = RandomAccess.Read(file, bytes.AsSpan(read), address + read)) > 0) read += n;
            if (read < count) throw new InvalidDataException($"HDF5 structure at {address} runs past the file's end");
            return bytes;
        }

        public static ulong Unsigned(ReadOnlySpan<byte> span, int size) => size switch
        {
            1 => span[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(span),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(span),
            8 => BinaryPrimitives.ReadUInt64LittleEndian(span),
            _ => throw new InvalidDataException($"HDF5 field of {size} bytes"),
        };

        /// <summary>A file address (relative to the superblock) as an absolute position, or -1 for the undefined address.</summary>
        public long Address(ReadOnlySpan<byte> span)
        {
            ulong value = Unsigned(span, OffsetSize);
            if (value == ulong.MaxValue >> (64 - 8 * OffsetSize)) return -1;
            if (value > (ulong)Length) throw new InvalidDataException($"HDF5 address {value} lies beyond the file");
            return @base + (long)value;
        }
    }

    /// <summary>The root group's hard-link names, or null when the layout is not one this reader knows.</summary>
    public static List<string>? HardLinks(string path) => Open(path, (r, root) => root(r)?.Where(l => l.Header >= 0).Select(l => l.Name).ToList());

    /// <summary>
    /// A chunked dataset as its object header and chunk index (B-tree v1, as MATLAB and h5py write it) describe it. The
    /// index is checked while it is walked: every node inside the file, no node visited twice, every chunk inside the file
    /// (PureHDF follows a damaged index round a cycle for ever). Dimensions, element type and filters are null when stored
    /// in a form this reader does not parse; a reader of the chunks themselves then leaves the dataset to PureHDF.
    /// </summary>
    public sealed record ChunkedLayout(ulong[]? Dims, ulong[] ChunkDims, int ElementSize, bool? LittleEndian, int[]? Filters, List<StoredChunk> Chunks);

    /// <summary>One stored chunk: its first element's position, where its bytes lie, how many, and which filters were skipped (bit i: filter i).</summary>
    public readonly record struct StoredChunk(ulong[] Offset, long Address, int Size, uint FilterMask);

    /// <summary>
    /// The chunk layout of the root dataset <paramref name="name"/>, or null when it is not chunked with a B-tree v1 index
    /// (or its header is in a form not read here); throws <see cref="InvalidDataException"/> on damage.
    /// </summary>
    public static ChunkedLayout? Chunks(string path, string name) => Open(path, (r, root) =>
    {
        var link = root(r)?.FirstOrDefault(l => l.Name == name && l.Header >= 0);
        if (link is not { Header: >= 0 } found) return null;
        var messages = Messages(r, found.Header);
        foreach (var (type, data) in messages)
        {
            // Data layout message, version 3, chunked: dimensionality (rank + 1), B-tree address, chunk sizes (4 bytes each,
            // the last one the element size).
            if (type != 0x08 || data.Length < 3 || data[0] != 3 || data[1] != 2) continue;
            int dimensionality = data[2];
            if (dimensionality < 2 || data.Length < 3 + r.OffsetSize + 4 * dimensionality) throw new InvalidDataException("a chunked layout message is truncated");
            long btree = r.Address(data.AsSpan(3));
            var sizes = Enumerable.Range(0, dimensionality).Select(d => (ulong)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(3 + r.OffsetSize + 4 * d))).ToArray();
            var chunks = btree >= 0 ? WalkChunkTree(r, btree, dimensionality - 1) : [];
            return new ChunkedLayout(Dataspace(messages, r.LengthSize), sizes[..^1], (int)Math.Min(sizes[^1], int.MaxValue),
                                     LittleEndianNumbers(messages), FilterIds(messages), chunks);
        }
        return null;
    });

    /// <summary>The dimensions of a dataspace message (versions 1 and 2), or null for another version or a shared message.</summary>
    static ulong[]? Dataspace(List<Message> messages, int lengthSize)
    {
        var (_, data, shared) = messages.FirstOrDefault(m => m.Type == 0x01);
        if (data is null || shared || data.Length < 4 || data[0] is not (1 or 2)) return null;
        int rank = data[1], at = data[0] == 1 ? 8 : 4;
        if (data.Length < at + rank * lengthSize) throw new InvalidDataException("a dataspace message is truncated");
        return Enumerable.Range(0, rank).Select(d => Reader.Unsigned(data.AsSpan(at + d * lengthSize), lengthSize)).ToArray();
    }

    /// <summary>Whether the datatype is a little-endian integer or IEEE float (true), big-endian (false), or another class (null).</summary>
    static bool? LittleEndianNumbers(List<Message> messages)
    {
        var (_, data, shared) = messages.FirstOrDefault(m => m.Type == 0x03);
        if (data is null || shared || data.Length < 8 || (data[0] & 0x0f) is not (0 or 1)) return null;
        return (data[1] & 0x41) == 0;                         // bit 0 (and for floats bit 6): byte order
    }

    /// <summary>The filter pipeline's filter ids in the order they were applied (versions 1 and 2); empty when there is none.</summary>
    static int[]? FilterIds(List<Message> messages)
    {
        var (_, data, shared) = messages.FirstOrDefault(m => m.Type == 0x0B);
        if (data is null) return [];
        if (shared || data.Length < 2 || data[0] is not (1 or 2)) return null;
        int version = data[0], count = data[1], at = version == 1 ? 8 : 2;
        var ids = new int[count];
        for (int f = 0; f < count; f++)
        {
            if (at + 4 > data.Length) throw new InvalidDataException("a filter pipeline message is truncated");
            int id = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(at));
            bool named = version == 1 || id >= 256;
            int nameLength = named ? BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(at + 2)) : 0;
            at += named ? 4 : 2;
            if (at + 4 > data.Length) throw new InvalidDataException("a filter pipeline message is truncated");
            int values = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(at + 2));
            at += 4 + (version == 1 ? (nameLength + 7) / 8 * 8 : nameLength) + 4 * values + (version == 1 && values % 2 == 1 ? 4 : 0);
            ids[f] = id;
        }
        return ids;
    }

    /// <summary>
    /// Runs <paramref name="use"/> with a reader of the file and a function listing the root's links (header −1 for soft and
    /// external ones), checked so that PureHDF's own lookup by name must find the same object: names are unique, and every
    /// hard-linked object header reads to its end without a continuation loop.
    /// </summary>
    static T? Open<T>(string path, Func<Reader, Func<Reader, List<(string Name, long Header)>?>, T?> use)
    {
        List<(string Name, long Header)>? Checked(Reader r, List<(string Name, long Header)>? links)
        {
            if (links is null) return null;
            if (links.GroupBy(l => l.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
                throw new InvalidDataException($"the root group holds two links named '{twice.Key}'");
            foreach (var (_, header) in links.Where(l => l.Header >= 0)) Messages(r, header);
            return links;
        }
        using var handle = System.IO.File.OpenHandle(path);
        long length = RandomAccess.GetLength(handle);
        var probe = new byte[16];
        for (long at = 0; at + 24 <= length; at = at == 0 ? 512 : at * 2)
        {
            if (RandomAccess.Read(handle, probe, at) < probe.Length || !probe.AsSpan(0, 8).SequenceEqual(Signature)) continue;
            int version = probe[8];
            if (version is 0 or 1)
            {
                int offsets = probe[13], lengths = probe[14];
                if (offsets is not (4 or 8) || lengths is not (4 or 8)) return default;
                var reader = new Reader(handle, length, at, offsets, lengths);
                return use(reader, r => Checked(r, Root0(r)));
                List<(string Name, long Header)>? Root0(Reader r)
                {
                    long entry = at + 24 + (version == 1 ? 4 : 0) + 4L * offsets;   // after base, free-space, end-of-file and driver addresses
                    var root = r.At(entry, 2L * offsets + 24);
                    long header = r.Address(root[offsets..]);
                    if (BinaryPrimitives.ReadUInt32LittleEndian(root[(2 * offsets)..]) != 1) return FromObjectHeader(r, header);
                    var scratch = root[(2 * offsets + 8)..];
                    return SymbolTable(r, r.Address(scratch), r.Address(scratch[offsets..]));
                }
            }
            if (version is 2 or 3)
            {
                int offsets = probe[9], lengths = probe[10];
                if (offsets is not (4 or 8) || lengths is not (4 or 8)) return default;
                var reader = new Reader(handle, length, at, offsets, lengths);
                return use(reader, r => Checked(r, FromObjectHeader(r, r.Address(r.At(at + 12 + 3L * offsets, offsets)))));
            }
            return default;
        }
        return default;
    }

    /// <summary>Walks a raw-data-chunk B-tree (type 1) of <paramref name="rank"/>-dimensional datasets, refusing cycles and anything outside the file.</summary>
    static List<StoredChunk> WalkChunkTree(Reader r, long root, int rank)
    {
        var chunks = new List<StoredChunk>();
        int keySize = 8 + 8 * (rank + 1);
        var pending = new Stack<long>([root]);
        var seen = new HashSet<long>();
        while (pending.Count > 0)
        {
            long node = pending.Pop();
            if (!seen.Add(node) || seen.Count > 1_000_000) throw new InvalidDataException("the chunk index revisits a node");
            var head = r.At(node, 8 + 2L * r.OffsetSize);
            if (!head[..4].SequenceEqual("TREE"u8) || head[4] != 1) throw new InvalidDataException("a chunk index node has no B-tree signature");
            int level = head[5], used = BinaryPrimitives.ReadUInt16LittleEndian(head[6..]);
            var body = r.At(node + 8 + 2L * r.OffsetSize, (long)used * (keySize + r.OffsetSize) + keySize);
            for (int i = 0; i < used; i++)
            {
                var key = body.Slice(i * (keySize + r.OffsetSize), keySize);
                long child = r.Address(body[(i * (keySize + r.OffsetSize) + keySize)..]);
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(key);
                if (level > 0) pending.Push(child);
                else if (child < 0 || child + size > r.Length) throw new InvalidDataException("a chunk lies outside the file");
                else
                {
                    var offset = new ulong[rank];
                    for (int d = 0; d < rank; d++) offset[d] = BinaryPrimitives.ReadUInt64LittleEndian(key[(8 + 8 * d)..]);
                    chunks.Add(new StoredChunk(offset, child, (int)Math.Min(size, int.MaxValue), BinaryPrimitives.ReadUInt32LittleEndian(key[4..])));
                }
            }
        }
        return chunks;
    }

    /// <summary>Links of an old-style group: B-tree v1 (type 0) leaves point to symbol table nodes whose entries name local-heap strings.</summary>
    static List<(string Name, long Header)> SymbolTable(Reader r, long btree, long heap)
    {
        var heapHeader = r.At(heap, 8 + 2L * r.LengthSize + r.OffsetSize);
        if (!heapHeader[..4].SequenceEqual("HEAP"u8)) throw new InvalidDataException("HDF5 local heap signature missing");
        long heapSize = (long)Reader.Unsigned(heapHeader[8..], r.LengthSize);
        long heapData = r.Address(heapHeader[(8 + 2 * r.LengthSize)..]);
        var names = new List<(string, long)>();
        var pending = new Stack<long>([btree]);
        var seen = new HashSet<long>();
        while (pending.Count > 0)
        {
            long node = pending.Pop();
            if (!seen.Add(node) || seen.Count > 100_000) throw new InvalidDataException("HDF5 group B-tree revisits a node");
            var head = r.At(node, 8 + 2L * r.OffsetSize);
            if (head[..4].SequenceEqual("SNOD"u8))
            {
                int symbols = BinaryPrimitives.ReadUInt16LittleEndian(head[6..]);
                long entrySize = 2L * r.OffsetSize + 24;
                for (int i = 0; i < symbols; i++)
                {
                    var entry = r.At(node + 8 + i * entrySize, entrySize);
                    long nameOffset = (long)Reader.Unsigned(entry, r.OffsetSize);
                    uint cacheType = BinaryPrimitives.ReadUInt32LittleEndian(entry[(2 * r.OffsetSize)..]);
                    if (nameOffset >= heapSize) throw new InvalidDataException("HDF5 link name lies outside its heap");
                    string name = NullTerminated(r.At(heapData + nameOffset, Math.Min(heapSize - nameOffset, 4096)));
                    names.Add((name, cacheType == 2 ? -1 : r.Address(entry[r.OffsetSize..])));   // a soft link: listed, never followed
                }
                continue;
            }
            if (!head[..4].SequenceEqual("TREE"u8) || head[4] != 0) throw new InvalidDataException("HDF5 group B-tree node signature missing");
            int used = BinaryPrimitives.ReadUInt16LittleEndian(head[6..]);
            // keys (a length each) and children (an address each) alternate after the node's header: key0 child0 key1 child1 ...
            long cursor = node + 8 + 2L * r.OffsetSize;
            for (int i = 0; i < used; i++)
            {
                cursor += r.LengthSize;
                pending.Push(r.Address(r.At(cursor, r.OffsetSize)));
                cursor += r.OffsetSize;
            }
        }
        return names;
    }

    /// <summary>Links of a group described by its object header: a symbol table message (old style) or compact link messages.</summary>
    static List<(string Name, long Header)>? FromObjectHeader(Reader r, long address)
    {
        var names = new List<(string, long)>();
        bool dense = false;
        (long Btree, long Heap)? table = null;
        foreach (var (type, data) in Messages(r, address))
        {
            if (type == 0x11) table = (r.Address(data), r.Address(data[r.OffsetSize..]));
            else if (type == 0x02)
            {
                // Link info: a defined fractal heap address means dense storage, which this reader leaves to PureHDF.
                int flags = data[1];
                long heap = r.Address(data[(2 + ((flags & 1) != 0 ? 8 : 0))..]);
                dense = heap >= 0;
            }
            else if (type == 0x06) names.Add(Link(r, data));
        }
        if (table is { } t)
            return names.Count == 0 ? SymbolTable(r, t.Btree, t.Heap) : throw new InvalidDataException("a group holds both a symbol table and link messages");
        return dense ? null : names;
    }

    /// <summary>The name and object header of a link message; the header is −1 for a soft, external or user-defined link.</summary>
    static (string, long) Link(Reader r, ReadOnlySpan<byte> data)
    {
        if (data.Length < 3 || data[0] != 1) throw new InvalidDataException("HDF5 link message of an unknown version");
        int flags = data[1], at = 2, kind = 0;
        if ((flags & 0x08) != 0) kind = data[at++];
        if ((flags & 0x04) != 0) at += 8;
        if ((flags & 0x10) != 0) at++;
        int sizeBytes = 1 << (flags & 3);
        if (at + sizeBytes > data.Length) throw new InvalidDataException("HDF5 link message is truncated");
        long length = (long)Reader.Unsigned(data[at..], sizeBytes);
        at += sizeBytes;
        if (length <= 0 || at + length > data.Length) throw new InvalidDataException("HDF5 link name is truncated");
        string name = Encoding.UTF8.GetString(data.Slice(at, (int)length));
        if (kind != 0) return (name, -1);
        if (at + length + r.OffsetSize > data.Length) throw new InvalidDataException("HDF5 hard link is truncated");
        return (name, r.Address(data[(at + (int)length)..]));
    }

    /// <summary>
    /// One object header message: its type, its bytes and whether it is shared (its bytes then point to the message kept
    /// elsewhere, e.g. a committed datatype, instead of holding it).
    /// </summary>
    readonly record struct Message(int Type, byte[] Data, bool Shared)
    {
        public void Deconstruct(out int type, out byte[] data) => (type, data) = (Type, Data);
    }

    /// <summary>Every message of the object header at <paramref name="address"/>, continuation blocks included.</summary>
    static List<Message> Messages(Reader r, long address)
    {
        var messages = new List<Message>();
        var blocks = new Queue<(long Start, long Length, bool V2)>();
        var head = r.At(address, 16);
        if (head[..4].SequenceEqual("OHDR"u8))
        {
            int flags = head[5], at = 6 + ((flags & 0x20) != 0 ? 16 : 0) + ((flags & 0x10) != 0 ? 4 : 0);
            int sizeBytes = 1 << (flags & 3);
            long size = (long)Reader.Unsigned(r.At(address + at, sizeBytes), sizeBytes);
            blocks.Enqueue((address + at + sizeBytes, size, true));
        }
        else if (head[0] == 1)
            blocks.Enqueue((address + 16, BinaryPrimitives.ReadUInt32LittleEndian(head[8..]), false));
        else throw new InvalidDataException("HDF5 object header of an unknown version");
        bool creationOrder = head[..4].SequenceEqual("OHDR"u8) && (head[5] & 0x04) != 0;
        int visited = 0;
        while (blocks.Count > 0)
        {
            if (++visited > 1000) throw new InvalidDataException("HDF5 object header continues too often");
            var (start, length, v2) = blocks.Dequeue();
            long cursor = start, end = start + length - (v2 && visited > 1 ? 4 : 0);
            if (v2 && visited > 1)
            {
                if (!r.At(start, 4).SequenceEqual("OCHK"u8)) throw new InvalidDataException("HDF5 continuation block signature missing");
                cursor += 4;
            }
            while (cursor + (v2 ? 4 : 8) <= end)
            {
                int type, size, flags;
                if (v2)
                {
                    var m = r.At(cursor, 4);
                    (type, size, flags) = (m[0], BinaryPrimitives.ReadUInt16LittleEndian(m[1..]), m[3]);
                    cursor += 4 + (creationOrder ? 2 : 0);
                }
                else
                {
                    var m = r.At(cursor, 8);
                    (type, size, flags) = (BinaryPrimitives.ReadUInt16LittleEndian(m), BinaryPrimitives.ReadUInt16LittleEndian(m[2..]), m[4]);
                    cursor += 8;
                }
                var data = r.At(cursor, size).ToArray();
                cursor += size;
                if (type == 0x10)
                {
                    long next = r.Address(data);
                    long nextLength = (long)Reader.Unsigned(data.AsSpan(r.OffsetSize), r.LengthSize);
                    blocks.Enqueue((next, nextLength, v2));
                }
                else messages.Add(new Message(type, data, Shared: (flags & 0x02) != 0));
            }
        }
        return messages;
    }

    static string NullTerminated(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }
}
