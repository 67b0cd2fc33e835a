using Karma.Data;
using Karma.Model;

namespace Karma.Downstream;

/// <summary>What a probe's per-pixel features are made of.</summary>
[Flags]
public enum FeatureSources
{
    /// <summary>The frozen encoder's features (<see cref="PixelFeatures.Encode"/>): context around the pixel.</summary>
    Encoder = 1,
    /// <summary>The pixel's own reflectance spectrum: what the pixel itself holds.</summary>
    Spectrum = 2,
    /// <summary>The physics branch's abundances of the pixel (models with the branch).</summary>
    Abundances = 4,
    /// <summary>The decoder's per-pixel features (<see cref="PixelFeatures.Decoder"/>): context resolved to the pixel.</summary>
    Decoder = 8,
}

/// <summary>
/// How a probe reads a pixel: which sources (<see cref="FeatureSources"/>), how the encoder's patch grid is read
/// (<see cref="FeatureReadout"/>) and from how many of its last blocks. With the spectrum included, a probe can always do
/// what a probe on raw spectra does and the encoder only has to add to it, which is how a representation that is worse
/// than its input (the first wave's probes) still earns its place.
/// </summary>
public sealed record FeatureRecipe(FeatureSources Sources = FeatureSources.Encoder | FeatureSources.Spectrum | FeatureSources.Abundances,
                                   FeatureReadout Readout = FeatureReadout.Bilinear, int Layers = 1)
{
    /// <summary>Parses "encoder,spectrum,abundances" (any subset, comma-separated).</summary>
    public static FeatureSources ParseSources(string text)
    {
        FeatureSources sources = 0;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            sources |= part.ToLowerInvariant() switch
            {
                "encoder" => FeatureSources.Encoder,
                "spectrum" => FeatureSources.Spectrum,
                "abundances" => FeatureSources.Abundances,
                "decoder" => FeatureSources.Decoder,
                _ => throw new InvalidSettingException($"Unknown feature source '{part}'. Choose from encoder, decoder, spectrum, abundances."),
            };
        if (sources == 0) throw new InvalidSettingException("Name at least one feature source: encoder, spectrum, abundances.");
        return sources;
    }

    /// <summary>
    /// The features of every pixel of <paramref name="cube"/> ([rows·cols, total]), the sources side by side in the order
    /// encoder, decoder, spectrum, abundances; abundances are left out for a model without a physics branch.
    /// </summary>
    public float[,] Compose(KarmaModel model, ReflectanceCube cube) => Concatenate(Parts(model, cube).Select(p => p.Features).ToList());

    /// <summary>
    /// Each source's features of every pixel of <paramref name="cube"/>, in <see cref="Compose"/>'s order: a caller that
    /// needs several subsets of the sources (all of them, the learned ones alone) computes each source once.
    /// </summary>
    public IReadOnlyList<(FeatureSources Source, float[,] Features)> Parts(KarmaModel model, ReflectanceCube cube)
    {
        var parts = new List<(FeatureSources, float[,])>();
        if (Sources.HasFlag(FeatureSources.Encoder)) parts.Add((FeatureSources.Encoder, PixelFeatures.Encode(model, cube, Readout, Layers)));
        if (Sources.HasFlag(FeatureSources.Decoder)) parts.Add((FeatureSources.Decoder, PixelFeatures.Decoder(model, cube)));
        if (Sources.HasFlag(FeatureSources.Spectrum)) parts.Add((FeatureSources.Spectrum, PixelFeatures.Spectra(cube)));
        if (Sources.HasFlag(FeatureSources.Abundances) && model.Physics is not null) parts.Add((FeatureSources.Abundances, PixelFeatures.Abundances(model, cube)));
        return parts;
    }

    /// <summary>Matrices with the same rows placed side by side.</summary>
    public static float[,] Concatenate(IReadOnlyList<float[,]> parts)
    {
        int rows = parts[0].GetLength(0), total = parts.Sum(p => p.GetLength(1)), at = 0;
        var result = new float[rows, total];
        foreach (var part in parts)
        {
            int width = part.GetLength(1);
            for (int r = 0; r < rows; r++)
                for (int k = 0; k < width; k++) result[r, at + k] = part[r, k];
            at += width;
        }
        return result;
    }
}
