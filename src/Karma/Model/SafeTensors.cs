using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// The safetensors format (Hugging Face), how weights travel between Karma and PyTorch: an 8-byte little-endian header
/// length, a JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian data, row-major.
/// No code runs on load (unlike a pickled <c>.pt</c>), any language reads it in a few lines, and <c>safetensors.torch</c>
/// loads Karma's files as they are. Written here because the format is small and TorchSharp has no reader of its own.
/// </summary>
public static class SafeTensors
{
    static readonly (ScalarType Type, string Name, int Size)[] Types =
    [
        (ScalarType.Float32, "F32", 4), (ScalarType.Float16, "F16", 2), (ScalarType.BFloat16, "BF16", 2), (ScalarType.Float64, "F64", 8),
        (ScalarType.Int64, "I64", 8), (ScalarType.Int32, "I32", 4), (ScalarType.Int16, "I16", 2), (ScalarType.Int8, "I8", 1),
        (ScalarType.Byte, "U8", 1), (ScalarType.Bool, "BOOL", 1),
    ];

    /// <summary>
    /// Writes <paramref name="tensors"/> (any device; stored in their own dtype) and string <paramref name="metadata"/> to
    /// <paramref name="path"/>, atomically (<see cref="AtomicFiles"/>). The header is padded to a multiple of 8 bytes.
    /// </summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Value)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.Select(t => (t.Name, Value: t.Value.detach().cpu().contiguous())).ToList();
        try
        {
            var header = new JsonObject();
            if (metadata is { Count: > 0 }) header["__metadata__"] = new JsonObject(metadata.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)JsonValue.Create(m.Value))));
            long offset = 0;
            foreach (var (name, value) in list)
            {
                var type = Types.FirstOrDefault(t => t.Type == value.dtype);
                if (type.Name is null) throw new InvalidSettingException($"Tensor {name} is {value.dtype}, which safetensors export does not write.");
                long bytes = value.numel() * type.Size;
                header[name] = new JsonObject
                {
                    ["dtype"] = type.Name,
                    ["shape"] = new JsonArray(value.shape.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                    ["data_offsets"] = new JsonArray(JsonValue.Create(offset), JsonValue.Create(offset + bytes)),
                };
                offset += bytes;
            }
            var json = Encoding.UTF8.GetBytes(header.ToJsonString());
            int padded = (json.Length + 7) / 8 * 8;
            AtomicFiles.Write(path, stream =>
            {
                stream.Write(BitConverter.GetBytes((ulong)padded));
                stream.Write(json);
                for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
                foreach (var (_, value) in list) stream.Write(value.bytes);
            });
        }
        finally
        {
            foreach (var (_, value) in list) value.Dispose();
        }
    }

    /// <summary>
    /// Reads every tensor of <paramref name="path"/> onto the CPU, with the file's metadata. A file whose header or byte ranges
    /// do not add up is refused naming it (<see cref="RunFolderException"/>): the ranges must lie in the file, not overlap,
    /// and match each tensor's dtype and shape.
    /// </summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        RunFolderException Damaged(string what) => new(path, $"is not a readable safetensors file: {what}.");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw Damaged("it is shorter than its 8-byte header length");
        ulong length = BitConverter.ToUInt64(bytes, 0);
        if (length > (ulong)(bytes.Length - 8) || length > 100_000_000) throw Damaged($"its header claims {length} bytes");
        JsonObject header;
        try { header = JsonNode.Parse(bytes.AsSpan(8, (int)length))?.AsObject() ?? throw Damaged("the header is empty"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw Damaged($"the header is not JSON ({KarmaException.Quote(e.Message)})"); }
        long dataStart = 8 + (long)length, dataLength = bytes.Length - dataStart;
        var metadata = new Dictionary<string, string>();
        var tensors = new Dictionary<string, Tensor>();
        var ranges = new List<(long Begin, long End, string Name)>();
        try
        {
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    foreach (var (key, value) in node?.AsObject() ?? []) metadata[key] = value?.GetValue<string>() ?? "";
                    continue;
                }
                var entry = node?.AsObject() ?? throw Damaged($"tensor '{KarmaException.Quote(name)}' has no description");
                string dtype = entry["dtype"]?.GetValue<string>() ?? throw Damaged($"tensor '{KarmaException.Quote(name)}' has no dtype");
                var type = Types.FirstOrDefault(t => t.Name == dtype);
                if (type.Name is null) throw Damaged($"tensor '{KarmaException.Quote(name)}' has dtype {KarmaException.Quote(dtype, 12)}, which Karma does not read");
                var shape = entry["shape"]?.AsArray().Select(d => d!.GetValue<long>()).ToArray() ?? throw Damaged($"tensor '{KarmaException.Quote(name)}' has no shape");
                var offsets = entry["data_offsets"]?.AsArray().Select(d => d!.GetValue<long>()).ToArray();
                if (offsets is not { Length: 2 } || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                    throw Damaged($"tensor '{KarmaException.Quote(name)}' lies outside the file's {dataLength} data bytes");
                if (shape.Any(d => d < 0) || shape.Aggregate(1L, (a, d) => checked(a * d)) * type.Size != offsets[1] - offsets[0])
                    throw Damaged($"tensor '{KarmaException.Quote(name)}' has shape [{string.Join(", ", shape)}] but {offsets[1] - offsets[0]} bytes");
                ranges.Add((offsets[0], offsets[1], name));
                var loaded = empty(shape, dtype: type.Type);
                tensors[name] = loaded;
                if (offsets[1] > offsets[0]) loaded.bytes = bytes.AsSpan((int)(dataStart + offsets[0]), (int)(offsets[1] - offsets[0]));
            }
            ranges.Sort();
            for (int i = 1; i < ranges.Count; i++)
                if (ranges[i].Begin < ranges[i - 1].End) throw Damaged($"tensors '{ranges[i - 1].Name}' and '{ranges[i].Name}' overlap");
            return (tensors, metadata);
        }
        catch (Exception e) when (e is not KarmaException and not OutOfMemoryException)
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw Damaged($"the header is malformed ({KarmaException.Quote(e.Message)})");
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
    }
}
