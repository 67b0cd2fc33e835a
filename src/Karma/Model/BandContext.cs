using Karma.Data;
using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// What a model needs to know about one band set, as tensors on its device: the bands' codes for the weight generators
/// ([bands, <see cref="BandEncoding.Width"/>]) and their response to the fine wavelength grid ([bands, grid],
/// <see cref="SpectralGrid.Response"/>). Built once per band set by <see cref="KarmaModel.Context"/> and kept by the
/// model, so a scene's tiles pay for it once. A fixed-band model's context carries neither, only the band count.
/// </summary>
public sealed class BandContext : IDisposable
{
    /// <summary>The bands described, or null for a fixed-band model read without a description.</summary>
    public SpectralBands? Bands { get; }
    /// <summary>Number of bands.</summary>
    public int Count { get; }
    /// <summary>Band codes [bands, E], or null for a fixed-band model.</summary>
    public Tensor? Codes { get; }
    /// <summary>Response to the grid [bands, grid], or null for a fixed-band model.</summary>
    public Tensor? Response { get; }

    BandContext(SpectralBands? bands, int count, Tensor? codes, Tensor? response) => (Bands, Count, Codes, Response) = (bands, count, codes, response);

    /// <summary>The context of a fixed-band model: <paramref name="count"/> bands, nothing generated.</summary>
    public static BandContext Fixed(int count, SpectralBands? bands = null) => new(bands, count, null, null);

    /// <summary>Codes and grid response of <paramref name="bands"/> on <paramref name="device"/>, outside any dispose scope.</summary>
    public static BandContext For(SpectralBands bands, Device device)
    {
        var codes = tensor(BandEncoding.Encode(bands), bands.Count, BandEncoding.Width).to(device).DetachFromDisposeScope();
        var response = tensor(SpectralGrid.Response(bands).Select(v => (float)v).ToArray(), bands.Count, SpectralGrid.Points).to(device).DetachFromDisposeScope();
        return new BandContext(bands, bands.Count, codes, response);
    }

    /// <summary>A key that identifies a band set and device.</summary>
    public static string Key(SpectralBands bands, Device device) => $"{device}|{bands.Key}";

    /// <inheritdoc/>
    public void Dispose()
    {
        Codes?.Dispose();
        Response?.Dispose();
    }
}
