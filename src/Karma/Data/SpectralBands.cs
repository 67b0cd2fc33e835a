namespace Karma.Data;

/// <summary>
/// What each band of a scene or a model is: its centre wavelength and full width at half maximum (nm), in the
/// file's order, and where the description came from (the file, a built-in sensor table, the user's option, an
/// estimate). Real imaging spectrometers are built from several spectrometers whose ranges overlap (EnMAP's VNIR
/// and SWIR near 900–1000 nm, AVIRIS-classic's four), so centres need not increase: every consumer that relies on
/// order (interpolation, plots, grids) goes through <see cref="SortedOrder"/> or <see cref="Spectrometers"/>
/// instead of assuming it.
/// </summary>
public sealed record SpectralBands
{
    /// <summary>Band centres in nanometres, in the file's band order.</summary>
    public double[] Centres { get; }
    /// <summary>Full widths at half maximum in nanometres, one per band.</summary>
    public double[] Fwhm { get; }
    /// <summary>Where the description came from, in words (shown by <c>karma info</c> and stored with models).</summary>
    public string Source { get; init; }

    /// <summary>
    /// Describes bands by their <paramref name="centres"/> and, when known, <paramref name="fwhm"/>; without widths each
    /// band's is estimated from the spacing of its neighbours within its spectrometer (<see cref="EstimateFwhm"/>).
    /// Throws for non-finite or non-positive values.
    /// </summary>
    public SpectralBands(double[] centres, double[]? fwhm, string source = "file")
    {
        if (centres.Length == 0) throw new BandMismatchException("A band description needs at least one band.");
        for (int i = 0; i < centres.Length; i++)
            if (!double.IsFinite(centres[i]) || centres[i] <= 0)
                throw new BandMismatchException($"Band {i + 1} has centre wavelength {centres[i]}; centres must be finite and positive (nm).");
        if (fwhm is not null)
        {
            if (fwhm.Length != centres.Length)
                throw new BandMismatchException($"{fwhm.Length} FWHM values were given for {centres.Length} band centres.");
            for (int i = 0; i < fwhm.Length; i++)
                if (!double.IsFinite(fwhm[i]) || fwhm[i] <= 0)
                    throw new BandMismatchException($"Band {i + 1} has FWHM {fwhm[i]}; widths must be finite and positive (nm).");
        }
        Centres = centres;
        Fwhm = fwhm ?? EstimateFwhm(centres);
        Source = fwhm is null && centres.Length > 1 ? source + " (FWHM estimated from band spacing)" : source;
    }

    /// <summary>Number of bands.</summary>
    public int Count => Centres.Length;

    /// <summary>The bands at <paramref name="indices"/> (in that order), keeping the source.</summary>
    public SpectralBands Select(IReadOnlyList<int> indices) =>
        new(indices.Select(i => Centres[i]).ToArray(), indices.Select(i => Fwhm[i]).ToArray(), Source);

    /// <summary>Band indices ordered by centre wavelength (ties by width, then file order): the order interpolation and plots use.</summary>
    public int[] SortedOrder() =>
        Enumerable.Range(0, Count).OrderBy(i => Centres[i]).ThenBy(i => Fwhm[i]).ThenBy(i => i).ToArray();

    /// <summary>
    /// The runs of bands whose centres increase in file order, one per spectrometer: a new run starts wherever a
    /// centre is not above the previous one. EnMAP L2A gives two (VNIR, SWIR), AVIRIS-classic four.
    /// </summary>
    public IReadOnlyList<Range> Spectrometers() => Runs(Centres);

    /// <summary>Where consecutive spectrometers overlap: the two runs and the wavelength interval both cover.</summary>
    public IReadOnlyList<SpectrometerOverlap> Overlaps()
    {
        var runs = Spectrometers();
        var result = new List<SpectrometerOverlap>();
        for (int k = 0; k + 1 < runs.Count; k++)
        {
            var (lower, upper) = (runs[k], runs[k + 1]);
            double from = Centres[upper.Start.Value], to = Centres[lower.End.Value - 1];
            result.Add(new SpectrometerOverlap(lower, upper, Math.Min(from, to), Math.Max(from, to)));
        }
        return result;
    }

    /// <summary>Identifies the band set: centres and widths to 1e-4 nm, in order (equal keys, same bands).</summary>
    public string Key => string.Join(';', Centres.Zip(Fwhm, (c, w) => $"{c:F4},{w:F4}"));

    /// <summary>Same centres and widths within <paramref name="toleranceNm"/>, band for band.</summary>
    public bool Matches(SpectralBands other, double toleranceNm = 0.5) =>
        Count == other.Count && Enumerable.Range(0, Count).All(i =>
            Math.Abs(Centres[i] - other.Centres[i]) <= toleranceNm && Math.Abs(Fwhm[i] - other.Fwhm[i]) <= Math.Max(toleranceNm, 0.05 * Fwhm[i]));

    /// <summary>A short description: count, range and spectrometers, e.g. "224 bands, 418.2–2445.5 nm, 2 spectrometers".</summary>
    public override string ToString()
    {
        int runs = Spectrometers().Count;
        return $"{Count} bands, {Centres.Min():0.#}–{Centres.Max():0.#} nm" + (runs > 1 ? $", {runs} spectrometers" : "");
    }

    /// <summary>
    /// Widths from spacing: each band's is the mean distance to its neighbours within its own spectrometer run (one
    /// neighbour at a run's ends), which is what a Nyquist-sampled spectrometer has; a lone band gets 10 nm.
    /// </summary>
    public static double[] EstimateFwhm(double[] centres)
    {
        var fwhm = new double[centres.Length];
        foreach (var run in Runs(centres))
        {
            int start = run.Start.Value, end = run.End.Value;
            for (int i = start; i < end; i++)
            {
                double below = i > start ? centres[i] - centres[i - 1] : double.NaN;
                double above = i + 1 < end ? centres[i + 1] - centres[i] : double.NaN;
                fwhm[i] = (double.IsNaN(below), double.IsNaN(above)) switch
                {
                    (true, true) => 10,
                    (true, false) => above,
                    (false, true) => below,
                    _ => (below + above) / 2,
                };
            }
        }
        return fwhm;
    }

    static List<Range> Runs(double[] centres)
    {
        var runs = new List<Range>();
        int start = 0;
        for (int i = 1; i <= centres.Length; i++)
            if (i == centres.Length || !(centres[i] > centres[i - 1]))
            {
                runs.Add(new Range(start, i));
                start = i;
            }
        return runs;
    }
}

/// <summary>Two consecutive spectrometers (band index ranges, file order) and the wavelengths (nm) both cover.</summary>
public readonly record struct SpectrometerOverlap(Range Lower, Range Upper, double From, double To);
