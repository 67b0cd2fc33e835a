using Karma.Data;

namespace Karma.Tests.Reliability;

/// <summary>
/// Seeded mutations of valid files (truncation, flipped bytes, garbage runs, edited header fields): every
/// reader must either return data or throw <see cref="KarmaException"/> naming the file — never another
/// exception type, a crash or a hang.
/// </summary>
public class FuzzTests
{
    /// <summary>Mutations per file: 150, or KARMA_FUZZ_CASES for the long mode (the README's count comes from 10,000).</summary>
    public static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("KARMA_FUZZ_CASES"), out int c) && c > 0 ? c : 150;
    static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("KARMA_FUZZ_SEED"), out int s) ? s : 1;

    static void MustReadOrExplain(string path, string label)
    {
        var task = Task.Run(() =>
        {
            try
            {
                using var scene = HyperspectralScene.Open(path);
                var values = new float[Math.Min((long)scene.Bands * scene.Lines * scene.Samples, 1 << 22)];
                int rows = (int)Math.Min(scene.Lines, Math.Max(1, values.Length / Math.Max(1L, (long)scene.Bands * scene.Samples)));
                scene.ReadWindow(0, 0, rows, scene.Samples, [], values);
                scene.ReadPixel(scene.Lines - 1, scene.Samples - 1);
            }
            catch (KarmaException e)
            {
                // The promise: one line that names the file (or its companion, e.g. an ENVI header's binary, same stem).
                string stem = Path.GetFileNameWithoutExtension(MatScene.Split(path).File);
                Assert.True(e.Message.Contains(stem), $"{label}: the error does not name the file: {e.Message}");
                Assert.True(!e.Message.Contains('\n') && e.Message.Length < 2100, $"{label}: the error is not one line: {e.Message}");
            }
        });
        bool finished;
        try { finished = task.Wait(TimeSpan.FromSeconds(20)); }
        catch (AggregateException failure) { Assert.Fail($"{label}: {failure.InnerException}"); return; }
        if (!finished) Assert.Fail($"{label}: reading hung");
    }

    static byte[] Mutate(byte[] original, Random random, int headerBytes)
    {
        var bytes = (byte[])original.Clone();
        switch (random.Next(4))
        {
            case 0: return bytes[..random.Next(bytes.Length)];                                     // truncation
            case 1:
                for (int i = 0; i < 1 + random.Next(8); i++) bytes[random.Next(Math.Min(bytes.Length, headerBytes))] ^= (byte)(1 << random.Next(8));
                return bytes;                                                                       // bit flips near the start
            case 2:
                int at = random.Next(Math.Min(bytes.Length, headerBytes)), n = Math.Min(bytes.Length - at, 1 + random.Next(16));
                random.NextBytes(bytes.AsSpan(at, n));
                return bytes;                                                                       // a garbage run
            default:
                for (int i = 0; i < 4; i++) bytes[random.Next(bytes.Length)] = 0xFF;                // scattered 0xFF
                return bytes;
        }
    }

    public static TheoryData<string> BinaryFiles() => ["gtiff_band_tiled_deflate_int16.tif", "gtiff_pixel_tiled_lzw_uint16.tif", "gtiff_band_striped_float32.tif",
                                                       "mat_v5.mat", "mat_v5_compressed.mat", "mat_v73.mat"];

    [Theory]
    [MemberData(nameof(BinaryFiles))]
    public void Mutated_binary_files_are_read_or_refused_with_a_Karma_error(string file)
    {
        var original = File.ReadAllBytes(Shared.Require("reference/" + file));
        using var dir = new TempDir();
        var random = new Random(file.Sum(c => c) * 7919 + Seed);
        for (int i = 0; i < Cases; i++)
        {
            string path = dir.File($"case{i}{Path.GetExtension(file)}");
            File.WriteAllBytes(path, Mutate(original, random, file.EndsWith(".mat") ? 1024 : 4096));
            MustReadOrExplain(path, $"{file} case {i}");
        }
    }

    /// <summary>The project's own v7.3 files: link cycles, partial edge chunks, unreadable types; every byte may be hit (their HDF5 structures fill them).</summary>
    public static TheoryData<string> Hdf5Fixtures() => ["linked_v73.mat", "chunked_v73.mat", "typed_v73.mat", "filtered_v73.mat"];

    [Theory]
    [MemberData(nameof(Hdf5Fixtures))]
    public void Mutated_HDF5_link_structures_and_chunks_are_read_or_refused_with_a_Karma_error(string file)
    {
        var original = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", file));
        using var dir = new TempDir();
        var random = new Random(file.Sum(c => c) * 104729 + Seed);
        for (int i = 0; i < Cases; i++)
        {
            string path = dir.File($"case{i}.mat");
            File.WriteAllBytes(path, Mutate(original, random, original.Length));
            MustReadOrExplain(path, $"{file} case {i}");
        }
    }

    static readonly string[] HeaderEdits =
    [
        "samples = -3", "lines = 0", "bands = 999999999", "samples = 2147483647", "data type = 6", "data type = 99", "data type = x",
        "interleave = bsx", "byte order = 7", "header offset = -100", "header offset = 99999999", "wavelength = {1, 2}",
        "bbl = {1}", "file compression = 1", "samples = 1e3", "lines = 5\nlines = 6", "wavelength = {400, 500, 600, 700, 800, 900, x}",
        "data ignore value = abc", "map info = {UTM, 1, 1}", "}", "{", "",
    ];

    [Fact]
    public void ENVI_headers_with_bad_or_contradictory_fields_are_refused_with_a_Karma_error()
    {
        string header = File.ReadAllText(Shared.Require("reference/envi_bsq_int16.hdr"));
        var binary = File.ReadAllBytes(Shared.Require("reference/envi_bsq_int16.img"));
        using var dir = new TempDir();
        var lines = header.Split('\n');
        var random = new Random(7);
        int i = 0;
        foreach (var edit in HeaderEdits)
            for (int variant = 0; variant < 3; variant++, i++)
            {
                // Replace a random line, or append the edit so it contradicts an earlier field.
                var edited = lines.ToList();
                if (variant == 0) edited.Add(edit);
                else edited[1 + random.Next(edited.Count - 1)] = edit;
                File.WriteAllText(dir.File($"h{i}.hdr"), string.Join('\n', edited));
                File.WriteAllBytes(dir.File($"h{i}.img"), variant == 2 ? binary[..(binary.Length / 2)] : binary);
                MustReadOrExplain(dir.File($"h{i}.hdr"), $"header edit '{edit}' ({variant})");
            }
    }

    [Fact]
    public void A_real_MATLAB_scene_whose_data_element_claims_two_gigabytes_is_refused()
    {
        // abu-urban-1.mat is miCOMPRESSED: inflate its variable, make the real-part sub-element claim ~2 GB, deflate again.
        var original = File.ReadAllBytes(Shared.Require("data/aviris_abu/abu-urban-1.mat"));
        using var dir = new TempDir();
        int patched = 0;
        var output = new MemoryStream();
        output.Write(original, 0, 128);
        for (int at = 128; at + 8 <= original.Length;)
        {
            int type = BitConverter.ToInt32(original, at), size = BitConverter.ToInt32(original, at + 4);
            var body = original.AsSpan(at + 8, size).ToArray();
            if (type == 15)
            {
                using var inflated = new MemoryStream();
                using (var z = new System.IO.Compression.ZLibStream(new MemoryStream(body), System.IO.Compression.CompressionMode.Decompress)) z.CopyTo(inflated);
                var matrix = inflated.ToArray();
                // miMATRIX tag (8) then sub-elements: flags, dimensions, name, real part.
                int sub = 8;
                for (int k = 0; k < 3; k++)
                {
                    int first = BitConverter.ToInt32(matrix, sub);
                    sub += (first >>> 16) != 0 ? 8 : 8 + (BitConverter.ToInt32(matrix, sub + 4) + 7) / 8 * 8;
                }
                BitConverter.GetBytes(2_000_000_000).CopyTo(matrix, sub + 4);
                patched++;
                using var deflated = new MemoryStream();
                using (var z = new System.IO.Compression.ZLibStream(deflated, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) z.Write(matrix);
                body = deflated.ToArray();
            }
            output.Write(BitConverter.GetBytes(type));
            output.Write(BitConverter.GetBytes(body.Length));
            output.Write(body);
            at += 8 + size;
        }
        Assert.True(patched > 0);
        string path = dir.File("claims-2gb.mat");
        File.WriteAllBytes(path, output.ToArray());
        var e = Assert.ThrowsAny<KarmaException>(() => { using var scene = HyperspectralScene.Open(path + ":data"); });
        Assert.StartsWith(path, e.Message);
    }
}
