using System.Text.Json;
using Karma.Data;

namespace Karma.Tests.Data;

public class MatFileTests
{
    static JsonElement Reference() =>
        JsonDocument.Parse(File.ReadAllText(Shared.Require("reference/reference.json"))).RootElement.GetProperty("matlab");

    [Theory]
    [InlineData("mat_v5.mat")]
    [InlineData("mat_v5_compressed.mat")]
    [InlineData("mat_v73.mat")]
    public void Reads_what_scipy_and_matlab_index(string file)
    {
        var reference = Reference();
        string path = Shared.Require("reference/" + file);
        var variables = MatFile.List(path).ToDictionary(v => v.Name);
        Assert.Equal([13, 17, 10], variables["cube"].Dimensions);
        Assert.Equal("double", variables["cube"].Class);
        Assert.Equal([13, 17], variables["labels"].Dimensions);
        Assert.Equal("uint8", variables["labels"].Class);

        var cube = MatFile.Read(path, "cube");
        foreach (var s in reference.GetProperty("cube_samples").EnumerateArray())
            Assert.Equal(s.GetProperty("value").GetDouble(), cube[s.GetProperty("index").EnumerateArray().Select(i => i.GetInt32()).ToArray()]);
        Assert.Equal(reference.GetProperty("cube_sum").GetDouble(), cube.Values.Sum(), 1e-9);
        var labels = MatFile.Read(path, "labels");
        foreach (var s in reference.GetProperty("labels_samples").EnumerateArray())
            Assert.Equal(s.GetProperty("value").GetDouble(), labels[s.GetProperty("index").EnumerateArray().Select(i => i.GetInt32()).ToArray()]);
        Assert.Equal(reference.GetProperty("labels_sum").GetDouble(), labels.Values.Sum());

        // As a scene, MATLAB's (row, column, band) is the scene's pixel (row, column) and band.
        using var scene = HyperspectralScene.Open(path);
        Assert.Equal((13, 17, 10), (scene.Lines, scene.Samples, scene.Bands));
        Assert.Equal(cube[5, 7, 3], scene.ReadPixel(5, 7)[3]);
        var window = new float[2 * 3 * 4];
        scene.ReadWindow(4, 6, 3, 4, [3, 8], window);
        Assert.Equal((float)cube[5, 7, 3], window[(0 * 3 + 1) * 4 + 1]);
        Assert.Equal((float)cube[6, 9, 8], window[(1 * 3 + 2) * 4 + 3]);
    }

    [Fact]
    public void Chunked_v73_files_with_partial_edge_chunks_read_every_element()
    {
        // Written by h5py (Fixtures/make_chunked_v73.py): 13×11×9 single in 4×3×2 chunks (reversed), deflated; uint8 labels shuffled.
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "chunked_v73.mat");
        var cube = MatFile.Read(path, "cube");
        Assert.Equal([13, 11, 9], cube.Variable.Dimensions);
        for (int r = 0; r < 13; r++)
            for (int c = 0; c < 11; c++)
                for (int b = 0; b < 9; b++)
                    Assert.Equal(10000 * r + 100 * c + b, cube[r, c, b]);
        var labels = MatFile.Read(path, "labels");
        for (int r = 0; r < 13; r++)
            for (int c = 0; c < 11; c++)
                Assert.Equal((r * 11 + c) % 251, labels[r, c]);
        Assert.Equal(10153, labels.Values.Sum());                  // h5py's sum
    }

    [Fact]
    public void Chunked_v73_files_are_read_by_Karmas_own_chunk_reader_with_every_filter_MATLAB_and_h5py_write()
    {
        // filtered_v73.mat (Fixtures/make_filtered_v73.py): 7×5×6 double, shuffle + gzip + Fletcher-32, 3×2×4 chunks (reversed);
        // 'early' is the same cube with Fletcher-32 first.
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "filtered_v73.mat");
        var layout = Hdf5Structure.Chunks(path, "cube")!;
        Assert.Equal([6UL, 5, 7], layout.Dims);
        Assert.Equal([3UL, 2, 4], layout.ChunkDims);
        Assert.Equal([2, 1, 3], layout.Filters!);                   // shuffle, deflate, Fletcher-32, in the order applied
        Assert.Equal(2 * 3 * 2, layout.Chunks.Count);
        Assert.NotNull(MatFile.ReadStoredChunks<double>(path, [6, 5, 7], layout));    // not PureHDF
        var cube = MatFile.Read(path, "cube");
        Assert.Equal([7, 5, 6], cube.Variable.Dimensions);
        for (int r = 0; r < 7; r++)
            for (int c = 0; c < 5; c++)
                for (int b = 0; b < 6; b++)
                    Assert.Equal(1000.5 * r - 10.25 * c + b, cube[r, c, b]);
        Assert.Equal(626535.0, cube.Values.Sum());                 // h5py's sum
        // Fletcher-32 applied first, as older writers ordered it: deflate's output then holds the checksum too.
        var early = Hdf5Structure.Chunks(path, "early")!;
        Assert.Equal([3, 2, 1], early.Filters!);
        Assert.NotNull(MatFile.ReadStoredChunks<double>(path, [6, 5, 7], early));
        Assert.Equal(cube.Values, MatFile.Read(path, "early").Values);
        // The MATLAB-like fixture takes the same path: deflate for the cube, shuffle + deflate for the labels.
        string chunked = Path.Combine(AppContext.BaseDirectory, "Fixtures", "chunked_v73.mat");
        var labels = Hdf5Structure.Chunks(chunked, "labels")!;
        Assert.Equal([2, 1], labels.Filters!);
        Assert.NotNull(MatFile.ReadStoredChunks<byte>(chunked, [11, 13], labels));
        Assert.NotNull(MatFile.ReadStoredChunks<float>(chunked, [9, 11, 13], Hdf5Structure.Chunks(chunked, "cube")));
    }

    [Fact]
    public void Chunk_indexes_Karma_does_not_read_itself_go_through_PureHDF_with_partial_edge_chunks()
    {
        // PureHDF's own writer stores chunk indexes MATLAB files never hold (layout v4), so the reader falls back to PureHDF.
        string path = Path.Combine(Path.GetTempPath(), $"karma-purehdf-{Environment.ProcessId}.mat");
        try
        {
            var stored = new float[6 * 5 * 7];                      // HDF5 [band][col][row] of a 7 × 5 × 6 MATLAB array
            for (int b = 0; b < 6; b++)
                for (int c = 0; c < 5; c++)
                    for (int r = 0; r < 7; r++) stored[(b * 5 + c) * 7 + r] = 1000 * r + 10 * c + b;
            var dataset = new PureHDF.H5Dataset(stored, chunks: [4, 2, 3], fileDims: [6, 5, 7],
                datasetCreation: new PureHDF.VOL.Native.H5DatasetCreation(Filters: [new PureHDF.Filters.H5Filter(PureHDF.Filters.DeflateFilter.Id, new() { [PureHDF.Filters.DeflateFilter.COMPRESSION_LEVEL] = 1 })]));
            dataset.Attributes["MATLAB_class"] = "single";
            new PureHDF.H5File { ["cube"] = dataset }.Write(path, new PureHDF.H5WriteOptions(UserBlockSize: 512));
            using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
                file.Write(System.Text.Encoding.ASCII.GetBytes("MATLAB 7.3 MAT-file".PadRight(116)).Concat(new byte[8]).Concat(new byte[] { 0, 2, (byte)'I', (byte)'M' }).ToArray());
            Assert.Null(Hdf5Structure.Chunks(path, "cube"));
            var cube = MatFile.Read(path, "cube");
            Assert.Equal([7, 5, 6], cube.Variable.Dimensions);
            for (int r = 0; r < 7; r++)
                for (int c = 0; c < 5; c++)
                    for (int b = 0; b < 6; b++)
                        Assert.Equal(1000 * r + 10 * c + b, cube[r, c, b]);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_damaged_chunk_is_named_and_never_read_as_values()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "filtered_v73.mat");
        string path = Path.Combine(Path.GetTempPath(), $"karma-damaged-chunk-{Environment.ProcessId}.mat");
        try
        {
            var bytes = File.ReadAllBytes(source);
            var chunk = Hdf5Structure.Chunks(source, "cube")!.Chunks[0];
            for (int i = 2; i < chunk.Size - 4; i++) bytes[chunk.Address + i] ^= 0x5A;   // the deflate stream after its header
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<SceneFileException>(() => MatFile.Read(path, "cube"));
            Assert.Contains(path, e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Link_cycles_in_a_v73_file_are_never_followed()
    {
        // Written by h5py (Fixtures/make_linked_v73.py): soft links to itself and to each other, a hard link from a group
        // back to the root, an external link to the same file, beside one cube. PureHDF alone overflows the stack here.
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "linked_v73.mat");
        Assert.Equal(["cube", "group"], Hdf5Structure.HardLinks(path)!.Order());
        Assert.Equal(["cube"], MatFile.List(path).Select(v => v.Name));
        var cube = MatFile.Read(path, "cube");
        Assert.Equal([4, 3, 2], cube.Variable.Dimensions);
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (double)i).Sum(), cube.Values.Sum());
        var e = Assert.ThrowsAny<KarmaException>(() => HyperspectralScene.Open(path + ":self"));
        Assert.Contains("no variable 'self'", e.Message);
        // The layouts of the other v7.3 files go through the same reader, not PureHDF's enumeration.
        Assert.Equal(["cube", "labels"], Hdf5Structure.HardLinks(Path.Combine(AppContext.BaseDirectory, "Fixtures", "chunked_v73.mat"))!.Order());
        Assert.Equal(["cube", "labels"], Hdf5Structure.HardLinks(Shared.Require("reference/mat_v73.mat"))!.Order());
    }

    [Fact]
    public void V73_types_without_a_MATLAB_class_are_read_or_named()
    {
        // Fixtures/make_typed_v73.py: a float32 cube with no MATLAB_class (as h5py writes), float16, a compound and an enum.
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "typed_v73.mat");
        var variables = MatFile.List(path).ToDictionary(v => v.Name);
        Assert.Equal("single", variables["plain"].Class);
        Assert.Equal(276, MatFile.Read(path, "plain").Values.Sum());
        Assert.Contains("stored as HDF5 16-bit floats", Assert.Throws<SceneFileException>(() => MatFile.Read(path, "half")).Message);
        Assert.Contains("compound values", Assert.Throws<SceneFileException>(() => MatFile.Read(path, "pairs")).Message);
        Assert.Contains("enumerated values", Assert.Throws<SceneFileException>(() => MatFile.Read(path, "colours")).Message);
    }

    [Fact]
    public void A_level5_matrix_with_short_array_flags_is_refused_naming_the_file()
    {
        // Found by the long fuzz run (mat_v5.mat case 7586): a miMATRIX whose array-flags sub-element holds 2 bytes, not 8.
        using var dir = new TempDir();
        var file = new List<byte>(System.Text.Encoding.ASCII.GetBytes("MATLAB 5.0 MAT-file, written by a test".PadRight(116)));
        file.AddRange(new byte[8]);
        file.AddRange([0x00, 0x01, (byte)'I', (byte)'M']);
        byte[] flags = [6, 0, 0, 0, 2, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];            // miUINT32, 2 bytes, padded to 8
        file.AddRange(BitConverter.GetBytes(14));                                    // miMATRIX
        file.AddRange(BitConverter.GetBytes(flags.Length));
        file.AddRange(flags);
        File.WriteAllBytes(dir.File("short.mat"), file.ToArray());
        var e = Assert.Throws<SceneFileException>(() => MatFile.List(dir.File("short.mat")));
        Assert.Contains("short.mat", e.Message);
        Assert.Contains("array flags of 2 bytes", e.Message);
    }

    [Fact]
    public void A_wrong_variable_name_lists_the_ones_there_are()
    {
        string path = Shared.Require("reference/mat_v5_compressed.mat");
        var e = Assert.ThrowsAny<KarmaException>(() => HyperspectralScene.Open(path + ":cub"));
        Assert.Contains("no variable 'cub'", e.Message);
        Assert.Contains("cube (13×17×10 double)", e.Message);
        Assert.Contains("mat_v5_compressed.mat", e.Message);
    }

    [Fact]
    public void A_truncated_file_names_the_problem()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(Shared.Require("reference/mat_v5.mat"));
        File.WriteAllBytes(dir.File("cut.mat"), bytes[..(bytes.Length - 100)]);
        var e = Assert.ThrowsAny<KarmaException>(() => MatFile.Read(dir.File("cut.mat"), "cube"));
        Assert.Contains("cut.mat", e.Message);
        Assert.Contains("truncated", e.Message);
        File.WriteAllText(dir.File("text.mat"), "hello");
        Assert.Contains("not a MATLAB", Assert.ThrowsAny<KarmaException>(() => MatFile.List(dir.File("text.mat"))).Message);
    }

    [Fact]
    public void Reads_the_real_benchmark_scenes()
    {
        using (var samson = HyperspectralScene.Open(Shared.Require("data/samson/Samson.mat") + ":SamSon"))
        {
            Assert.Equal((95, 95, 156), (samson.Lines, samson.Samples, samson.Bands));
            Assert.All(samson.ReadPixel(10, 20), v => Assert.InRange(v, 0, 1));
        }
        var endmembers = MatFile.Read(Shared.Require("data/samson/Samson.mat"), "M");
        Assert.Equal([156, 3], endmembers.Variable.Dimensions);
        using (var salinas = HyperspectralScene.Open(Shared.Require("data/salinas_a/SalinasA_corrected.mat")))
        {
            // Stored as a double array holding integers (reflectance × 10000).
            Assert.Equal((83, 86, 204), (salinas.Lines, salinas.Samples, salinas.Bands));
            Assert.All(salinas.ReadPixel(40, 40), v => Assert.Equal(Math.Round(v), v));
        }
        var gt = MatFile.Read(Shared.Require("data/salinas_a/SalinasA_gt.mat"), "salinasA_gt");
        Assert.Equal(new[] { 0.0, 1, 10, 11, 12, 13, 14 }, gt.Values.Distinct().Order());
        Assert.Equal(391, gt.Values.Count(v => v == 1));
        using var aviris = HyperspectralScene.Open(Shared.Require("data/aviris_misc/aviris_224_with_wavelengths.mat") + ":hsi_img");
        Assert.Equal(224, aviris.Metadata.Wavelengths!.Length);
        Assert.InRange(aviris.Metadata.Wavelengths[0], 350, 420);
    }
}
