namespace Karma.Data;

/// <summary>
/// Resamples spectra from one band set to another as a sparse linear map, so a model trained on one sensor's
/// bands (say EnMAP) can be applied to another's (AVIRIS, PRISMA, Hyperion). With target FWHMs each target band
/// is the source spectrum weighted by the target's Gaussian spectral response (σ = FWHM / 2.3548), normalised
/// over the source bands it covers; without them, linear interpolation between the two nearest source bands.
/// Neither side needs increasing centres: overlapping spectrometers (EnMAP's VNIR/SWIR, AVIRIS-classic's four) are
/// sorted by centre here, and each target band is computed on its own, so the map is the same whatever order the
/// source's bands come in and the output keeps the target's order.
/// </summary>
public sealed class SpectralResampler
{
    readonly (int Band, double Weight)[][] weights;

    /// <summary>Number of output bands.</summary>
    public int TargetBands => weights.Length;
    /// <summary>Number of input bands.</summary>
    public int SourceBands { get; }

    /// <summary>
    /// Builds the map from <paramref name="source"/> wavelengths (nm) to <paramref name="target"/> wavelengths (nm).
    /// <paramref name="sourceFwhm"/> only serves to tell apart source bands at the same centre (the interpolation then
    /// averages them); duplicate centres with no widths, or widths alike, cannot be told apart and are refused.
    /// Errors name <paramref name="context"/> (the scene or library being resampled).
    /// </summary>
    public SpectralResampler(double[] source, double[] target, double[]? targetFwhm = null, double[]? sourceFwhm = null, string? context = null)
    {
        BandMismatchException Error(string message, params string[] settings) =>
            context is null ? new BandMismatchException(message) { Settings = settings } : new BandMismatchException(context, message) { Settings = settings };
        if (source.Length < 2) throw Error("resampling needs at least two source bands.");
        if (targetFwhm is not null && targetFwhm.Length != target.Length)
            throw Error($"{targetFwhm.Length} FWHM values were given for {target.Length} target bands.");
        foreach (double centre in source.Concat(target))
            if (!double.IsFinite(centre)) throw Error($"a band centre is {centre}; every centre must be a finite wavelength in nm.");
        var order = Enumerable.Range(0, source.Length).OrderBy(i => source[i]).ToArray();
        var sorted = order.Select(i => source[i]).ToArray();
        for (int k = 1; k < sorted.Length; k++)
            if (sorted[k] == sorted[k - 1] && (sourceFwhm is null || sourceFwhm[order[k]] == sourceFwhm[order[k - 1]]))
                throw Error($"bands {order[k - 1] + 1} and {order[k] + 1} are both at {sorted[k]:0.###} nm with {(sourceFwhm is null ? "no widths" : "the same width")} " +
                            "to tell them apart; fix the band description or keep one side of the spectrometers' overlap (lower or upper).", "Wavelengths", "Overlap");
        double lo = sorted[0], hi = sorted[^1];
        var outside = target.Where(t => t < lo - 1e-9 || t > hi + 1e-9).ToArray();
        if (outside.Length > 0)
            throw Error($"{outside.Length} target band(s) (e.g. {outside[0]:0.##} nm) lie outside the source's {lo:0.##}–{hi:0.##} nm; drop them from the target first (select a wavelength range).");
        SourceBands = source.Length;
        weights = new (int, double)[target.Length][];
        for (int t = 0; t < target.Length; t++)
        {
            var w = targetFwhm is { } fwhm && fwhm[t] > 0 ? Gaussian(sorted, target[t], fwhm[t]) : Linear(sorted, target[t]);
            weights[t] = w.Select(x => (order[x.Item1], x.Item2)).ToArray();   // back to the source's own band numbers
        }
    }

    /// <summary>Builds the map between two band descriptions: Gaussian responses of the target's widths.</summary>
    public SpectralResampler(SpectralBands source, SpectralBands target, string? context = null)
        : this(source.Centres, target.Centres, target.Fwhm, source.Fwhm, context) { }

    static (int, double)[] Gaussian(double[] sorted, double centre, double fwhm)
    {
        double sigma = fwhm / (2 * Math.Sqrt(2 * Math.Log(2)));
        var w = new List<(int, double)>();
        for (int s = 0; s < sorted.Length; s++)
        {
            double z = (sorted[s] - centre) / sigma;
            if (Math.Abs(z) <= 3) w.Add((s, Math.Exp(-0.5 * z * z)));
        }
        // A response narrower than the source spacing covers no source band: fall back to interpolation.
        if (w.Count == 0) return Linear(sorted, centre);
        double total = w.Sum(x => x.Item2);
        return w.Select(x => (x.Item1, x.Item2 / total)).ToArray();
    }

    /// <summary>Interpolation between the nearest sorted centres below and above; bands sharing a centre are averaged.</summary>
    static (int, double)[] Linear(double[] sorted, double t)
    {
        int hi = 0;
        while (hi < sorted.Length && sorted[hi] < t) hi++;
        if (hi == sorted.Length) return Same(sorted, hi - 1, 1.0);        // within rounding of the last centre
        if (hi == 0 || sorted[hi] == t) return Same(sorted, hi, 1.0);
        int lo = hi - 1;
        double f = (t - sorted[lo]) / (sorted[hi] - sorted[lo]);
        return [.. Same(sorted, lo, 1 - f), .. Same(sorted, hi, f)];
    }

    static (int, double)[] Same(double[] sorted, int at, double weight)
    {
        int first = at, last = at;
        while (first > 0 && sorted[first - 1] == sorted[at]) first--;
        while (last + 1 < sorted.Length && sorted[last + 1] == sorted[at]) last++;
        int n = last - first + 1;
        return Enumerable.Range(first, n).Select(i => (i, weight / n)).ToArray();
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
                if (weight == 0) continue;
                var src = input.Slice(band * pixels, pixels);
                float w = (float)weight;
                for (int p = 0; p < pixels; p++) dst[p] += w * src[p];
            }
        }
    }
}
