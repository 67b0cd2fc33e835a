namespace Karma.Data;

/// <summary>
/// Resamples spectra from one band set to another as a sparse linear map, so a model trained on one sensor's
/// bands (say EnMAP) can be applied to another's (AVIRIS, PRISMA, Hyperion). With target FWHMs each target band
/// is the source spectrum weighted by the target's Gaussian spectral response (σ = FWHM / 2.3548), normalised
/// over the source bands it covers; without them, linear interpolation between the two nearest source bands.
/// </summary>
public sealed class SpectralResampler
{
    readonly (int Band, double Weight)[][] weights;

    /// <summary>Number of output bands.</summary>
    public int TargetBands => weights.Length;
    /// <summary>Number of input bands.</summary>
    public int SourceBands { get; }

    /// <summary>Builds the map from <paramref name="source"/> wavelengths (nm) to <paramref name="target"/> wavelengths (nm).</summary>
    public SpectralResampler(double[] source, double[] target, double[]? targetFwhm = null)
    {
        if (source.Length < 2) throw new ArgumentException("resampling needs at least two source bands", nameof(source));
        for (int i = 1; i < source.Length; i++)
            if (!(source[i] > source[i - 1])) throw new ArgumentException("source wavelengths must increase", nameof(source));
        if (targetFwhm is not null && targetFwhm.Length != target.Length)
            throw new ArgumentException($"{targetFwhm.Length} FWHM values for {target.Length} target bands", nameof(targetFwhm));
        double lo = source[0], hi = source[^1];
        var outside = target.Where(t => t < lo - 1e-9 || t > hi + 1e-9).ToArray();
        if (outside.Length > 0)
            throw new KarmaException($"{outside.Length} target band(s) (e.g. {outside[0]:0.##} nm) lie outside the source's {lo:0.##}–{hi:0.##} nm; drop them from the target first (select a wavelength range).");
        SourceBands = source.Length;
        weights = new (int, double)[target.Length][];
        for (int t = 0; t < target.Length; t++)
            weights[t] = targetFwhm is { } fwhm && fwhm[t] > 0 ? Gaussian(source, target[t], fwhm[t]) : Linear(source, target[t]);
    }

    static (int, double)[] Gaussian(double[] source, double centre, double fwhm)
    {
        double sigma = fwhm / (2 * Math.Sqrt(2 * Math.Log(2)));
        var w = new List<(int, double)>();
        for (int s = 0; s < source.Length; s++)
        {
            double z = (source[s] - centre) / sigma;
            if (Math.Abs(z) <= 3) w.Add((s, Math.Exp(-0.5 * z * z)));
        }
        // A response narrower than the source spacing covers no source band: fall back to interpolation.
        if (w.Count == 0) return Linear(source, centre);
        double total = w.Sum(x => x.Item2);
        return w.Select(x => (x.Item1, x.Item2 / total)).ToArray();
    }

    static (int, double)[] Linear(double[] source, double t)
    {
        int i = Array.BinarySearch(source, t);
        if (i >= 0) return [(i, 1.0)];
        int hi = ~i, lo = hi - 1;
        double f = (t - source[lo]) / (source[hi] - source[lo]);
        return [(lo, 1 - f), (hi, f)];
    }

    /// <summary>Resamples [band][pixel] <paramref name="input"/> into [band][pixel] <paramref name="output"/>.</summary>
    public void Apply(ReadOnlySpan<float> input, Span<float> output, int pixels)
    {
        if (input.Length < SourceBands * pixels || output.Length < TargetBands * pixels)
            throw new ArgumentException($"expected {SourceBands}×{pixels} inputs and room for {TargetBands}×{pixels} outputs");
        output[..(TargetBands * pixels)].Clear();
        for (int t = 0; t < TargetBands; t++)
        {
            var dst = output.Slice(t * pixels, pixels);
            foreach (var (band, weight) in weights[t])
            {
                var src = input.Slice(band * pixels, pixels);
                float w = (float)weight;
                for (int p = 0; p < pixels; p++) dst[p] += w * src[p];
            }
        }
    }
}
