using TorchSharp;
using System.Diagnostics;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Runtime;

[Collection(SerialTorchCollection.Name)]
public class ComputeDeviceTests
{
    public ComputeDeviceTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Names_resolve_to_devices_and_cuda_without_a_gpu_is_a_clear_error()
    {
        Assert.Equal(DeviceType.CPU, ComputeDevice.Resolve("cpu", cudaAvailable: true).type);
        Assert.Equal(DeviceType.CPU, ComputeDevice.Resolve("auto", cudaAvailable: false).type);
        Assert.Equal(DeviceType.CUDA, ComputeDevice.Resolve("auto", cudaAvailable: true).type);
        var e = Assert.ThrowsAny<KarmaException>(() => ComputeDevice.Resolve("cuda", cudaAvailable: false));
        Assert.Contains("no CUDA device", e.Message);
        Assert.Contains("device cpu", e.Message);
        Assert.Contains("--device", Karma.Cli.KarmaCli.Describe(e));
        Assert.ThrowsAny<KarmaException>(() => ComputeDevice.Resolve("cuda:x", cudaAvailable: true));
        Assert.Contains("cpu, cuda, cuda:N or auto", Assert.ThrowsAny<KarmaException>(() => ComputeDevice.Resolve("tpu", true)).Message);
    }

    [Fact]
    public void Loaded_models_and_their_inputs_live_on_the_chosen_device()
    {
        Assert.Equal(DeviceType.CPU, ComputeDevice.Use("auto").type);   // no GPU on the test machines
        using var dir = new TempDir();
        var config = TestConfigs.Micro with { Bands = 6, EncoderDim = 16, EncoderHeads = 2, DecoderDim = 16, DecoderHeads = 2 };
        using (var model = new Karma.Model.KarmaModel(config)) Karma.Model.ModelCheckpoint.Save(model, dir.Path, null, null);
        var (loaded, _) = Karma.Model.ModelCheckpoint.Load(dir.Path);
        using (loaded) Assert.Equal(ComputeDevice.Current.type, loaded.Device.type);
    }

    [Fact]
    public void The_cli_refuses_cuda_on_a_cpu_build_with_exit_code_1()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "karma.dll"), "--device", "cuda", "evaluate", "--checkpoint", "nowhere", "--data", "nothing" })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(1, process.ExitCode);
        Assert.Contains("no CUDA device", error);
    }
}
