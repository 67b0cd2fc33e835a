using TorchSharp;
using static TorchSharp.torch;

namespace Karma.Runtime;

/// <summary>
/// Where models run: the CPU, or a CUDA GPU when libtorch sees one. Chosen once per process (the CLI's global
/// <c>--device cpu|cuda|auto</c>); models are created or loaded onto <see cref="Current"/> and every input tensor
/// follows its model (<see cref="Model.KarmaModel.Device"/>), so the rest of the code does not care. Results come
/// back to the CPU before they are read. The package Karma ships is TorchSharp's CPU build, so <c>cuda</c> fails
/// with an explanation unless a CUDA libtorch is provided.
/// </summary>
public static class ComputeDevice
{
    /// <summary>The device new and loaded models are placed on (default CPU).</summary>
    public static Device Current { get; private set; } = CPU;

    /// <summary>Resolves <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> or <c>auto</c> (CUDA when available, else CPU) and makes it <see cref="Current"/>.</summary>
    public static Device Use(string name)
    {
        Current = Resolve(name, cuda.is_available());
        return Current;
    }

    /// <summary>The device <paramref name="name"/> means when CUDA is (or is not) <paramref name="cudaAvailable"/>.</summary>
    public static Device Resolve(string name, bool cudaAvailable)
    {
        string n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return CPU;
        if (n == "auto") return cudaAvailable ? new Device(DeviceType.CUDA, 0) : CPU;
        if (n == "cuda" || n.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cudaAvailable)
                throw new InvalidSettingException($"Device '{name}': libtorch reports no CUDA device. This build of Karma uses TorchSharp's CPU libtorch; " +
                                         "run on a machine with an NVIDIA GPU and a CUDA build of libtorch (see docs/performance.md), or use device cpu or auto.") { Settings = ["Device"] };
            int index = n == "cuda" ? 0 : int.TryParse(n[5..], out int k) && k >= 0 ? k
                : throw new InvalidSettingException($"Device '{name}': expected cuda:N with N a GPU number.") { Settings = ["Device"] };
            if (index >= cuda.device_count()) throw new InvalidSettingException($"Device '{name}': only {cuda.device_count()} CUDA device(s) are visible.") { Settings = ["Device"] };
            return new Device(DeviceType.CUDA, index);
        }
        throw new InvalidSettingException($"A device is cpu, cuda, cuda:N or auto (got '{name}').") { Settings = ["Device"] };
    }
}
