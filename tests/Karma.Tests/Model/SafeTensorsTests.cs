using System.Diagnostics;
using System.Text.Json;
using Karma.Data;
using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Model;

[Collection(SerialTorchCollection.Name)]
public class SafeTensorsTests
{
    public SafeTensorsTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Tensors_and_metadata_round_trip_and_a_damaged_header_is_refused()
    {
        using var dir = new TempDir();
        using var a = arange(12, dtype: ScalarType.Float32).reshape(3, 4) / 7;
        using var h = a.to(ScalarType.Float16);
        using var i = tensor(new long[] { -3, 1L << 40 });
        using var empty = zeros(0, 5);
        SafeTensors.Write(dir.File("t.safetensors"), [("a", a), ("half", h), ("ids", i), ("empty", empty)], new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(dir.File("t.safetensors"));
        Assert.Equal(0, (long)BitConverter.ToUInt64(bytes, 0) % 8);                      // padded header
        var (read, metadata) = SafeTensors.Read(dir.File("t.safetensors"));
        Assert.Equal("v", metadata["k"]);
        Assert.True(read["a"].equal(a).all().item<bool>());
        Assert.Equal(ScalarType.Float16, read["half"].dtype);
        Assert.True(read["half"].equal(h).all().item<bool>());
        Assert.Equal(new long[] { -3, 1L << 40 }, read["ids"].data<long>().ToArray());
        Assert.Equal([0L, 5], read["empty"].shape);
        foreach (var t in read.Values) t.Dispose();

        File.WriteAllBytes(dir.File("cut.safetensors"), bytes[..(bytes.Length - 10)]);
        var e = Assert.Throws<RunFolderException>(() => SafeTensors.Read(dir.File("cut.safetensors")));
        Assert.Contains("cut.safetensors", e.Message);
        Assert.Contains("outside the file", e.Message);
        bytes[8] = (byte)'#';                                                              // the header's opening brace
        File.WriteAllBytes(dir.File("bad.safetensors"), bytes);
        Assert.Contains("not JSON", Assert.Throws<RunFolderException>(() => SafeTensors.Read(dir.File("bad.safetensors"))).Message);
    }

    static readonly KarmaConfig Small = TestConfigs.Micro with { EncoderDepth = 2, Bands = 12 };

    /// <summary>The configurations the PyTorch module must reproduce: every spectral embedding, with and without the physics branch's options.</summary>
    public static TheoryData<string> Variants() => ["fixed-mae", "fixed-karma", "wavelength-karma", "adapter-lsmm"];

    static KarmaConfig Config(string variant) => variant switch
    {
        "fixed-mae" => Small with { Variant = ModelVariant.Mae },
        "fixed-karma" => Small with { Variant = ModelVariant.Karma, AbundanceFromSpectrum = true, AbundanceRefinementSteps = 3 },
        "wavelength-karma" => Small with { Variant = ModelVariant.Karma, SpectralEmbedding = SpectralEmbedding.Wavelength, SpectralDim = 16, AbundanceFromSpectrum = true, AbundanceRefinementSteps = 5 },
        _ => Small with { Variant = ModelVariant.HuberLsmm, SpectralEmbedding = SpectralEmbedding.Adapter, SpectralDim = 16, PerPixelAbundances = false },
    };

    /// <summary>A random model with random statistics, exported as safetensors into <paramref name="folder"/>; returns the bands its input has.</summary>
    static SpectralBands Export(string variant, string folder, TempDir dir)
    {
        manual_seed(11);
        var config = Config(variant);
        using var model = new KarmaModel(config);
        var random = new Random(3);
        int statistics = (int)model.BandMean.Length;
        model.SetBandStatistics(Enumerable.Range(0, statistics).Select(_ => (float)(0.1 + 0.2 * random.NextDouble())).ToArray(),
                                Enumerable.Range(0, statistics).Select(_ => (float)(0.05 + 0.1 * random.NextDouble())).ToArray());
        var bands = config.ByWavelength ? new SpectralBands(Enumerable.Range(0, 30).Select(b => 420 + 65.0 * b).ToArray(), null)
                                        : new SpectralBands(Enumerable.Range(0, config.Bands).Select(b => 450 + 150.0 * b).ToArray(), null);
        ModelCheckpoint.Save(model, dir.File("native-" + variant), config.ByWavelength ? null : bands.Centres);
        ModelCheckpoint.Export(dir.File("native-" + variant), folder, half: false, safeTensors: true);
        return bands;
    }

    static (Dictionary<string, Tensor> Outputs, Tensor Input, Tensor Visible) Run(KarmaModel model, SpectralBands bands)
    {
        manual_seed(5);
        var input = rand(2, bands.Count, model.Config.TileSize, model.Config.TileSize) * 0.5f;
        var masking = model.SampleMasking(2, new Generator(7));
        using var _ = no_grad();
        using var output = model.call(input, model.Config.ByWavelength ? bands : null, masking);
        var outputs = new Dictionary<string, Tensor> { ["reconstruction"] = output.Reconstruction.clone(), ["features"] = model.EncodeAll(input, model.Config.ByWavelength ? bands : null) };
        if (output.Abundances is { } a) outputs["abundances"] = a.clone();
        if (output.Endmembers is { } e) outputs["endmembers"] = e.clone();
        return (outputs, input, (1 - masking.Mask).to(ScalarType.Byte));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void An_exported_model_loads_back_with_the_same_outputs(string variant)
    {
        using var dir = new TempDir();
        var bands = Export(variant, dir.File("exported"), dir);
        Assert.True(File.Exists(dir.File("exported/model.safetensors")));
        Assert.False(File.Exists(dir.File("exported/weights.bin")));
        var (native, _) = ModelCheckpoint.Load(dir.File("native-" + variant));
        var (exported, meta) = ModelCheckpoint.Load(dir.File("exported"));
        Assert.Equal(ModelCheckpoint.Sha256(dir.File("exported/model.safetensors")), meta.WeightsSha256);
        using (native)
        using (exported)
        {
            var (a, _, _) = Run(native, bands);
            var (b, _, _) = Run(exported, bands);
            foreach (var (name, value) in a) Assert.True(value.equal(b[name]).all().item<bool>(), $"{variant}: {name} differs after export");
        }
        // And back to Karma's own format: the import path for weights PyTorch wrote.
        ModelCheckpoint.Export(dir.File("exported"), dir.File("again"), half: false);
        Assert.True(File.Exists(dir.File("again/weights.bin")));
        var (again, _) = ModelCheckpoint.Load(dir.File("again"));
        again.Dispose();
    }

    [Fact]
    public void A_safetensors_file_of_another_model_is_refused_naming_what_is_missing()
    {
        using var dir = new TempDir();
        Export("fixed-karma", dir.File("exported"), dir);
        var (tensors, _) = SafeTensors.Read(dir.File("exported/model.safetensors"));
        tensors.Remove("physics.endmemberLogits");
        SafeTensors.Write(dir.File("exported/model.safetensors"), tensors.Select(t => (t.Key, t.Value)));
        var json = File.ReadAllText(dir.File("exported/model.json"));
        File.WriteAllText(dir.File("exported/model.json"), System.Text.RegularExpressions.Regex.Replace(json, "\"weightsSha256\": \"[0-9a-f]+\"", "\"weightsSha256\": null"));
        var e = Assert.Throws<RunFolderException>(() => ModelCheckpoint.Load(dir.File("exported")));
        Assert.Contains("missing physics.endmemberLogits", e.Message);
    }

    static bool PyTorchAvailable()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("/usr/bin/python3", "-c \"import torch, numpy\"") { RedirectStandardError = true, RedirectStandardOutput = true })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void PyTorch_reproduces_the_exported_model(string variant)
    {
        Assert.SkipUnless(PyTorchAvailable(), "python3 with torch is not installed (Debian: python3-torch, or bench/reference/install.sh); the PyTorch check is skipped.");
        using var dir = new TempDir();
        string folder = dir.File("exported");
        var bands = Export(variant, folder, dir);
        var (model, _) = ModelCheckpoint.Load(folder);
        using (model)
        {
            var (outputs, input, visible) = Run(model, bands);
            var check = new List<(string, Tensor)> { ("input", input), ("visible", visible) };
            check.AddRange(outputs.Select(o => (o.Key, o.Value)));
            var metadata = new Dictionary<string, string>();
            if (model.Config.ByWavelength)
            {
                metadata["centres"] = JsonSerializer.Serialize(bands.Centres);
                metadata["fwhm"] = JsonSerializer.Serialize(bands.Fwhm);
            }
            SafeTensors.Write(Path.Combine(folder, "check.safetensors"), check, metadata);
        }
        string script = Path.Combine(Shared.RepositoryRoot(), "bench", "reference", "karma_model.py");
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add("check");
        start.ArgumentList.Add(folder);
        start.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd(), error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"karma_model.py failed: {error}");
        var differences = JsonSerializer.Deserialize<Dictionary<string, double>>(output)!;
        Assert.Contains("reconstruction", differences.Keys);
        Assert.Contains("features", differences.Keys);
        if (Config(variant).HasPhysicsBranch) Assert.Contains("abundances", differences.Keys);
        foreach (var (name, difference) in differences) Assert.True(difference < 1e-5, $"{variant}: PyTorch's {name} differs from Karma's by {difference:G3}");
    }
}
