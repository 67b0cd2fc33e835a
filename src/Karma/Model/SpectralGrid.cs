using Karma.Data;

namespace Karma.Model;

/// <summary>
/// The fixed fine wavelength grid (350–2600 nm every 10 nm, 226 points) on which a wavelength-aware model keeps
/// everything that must mean the same on every sensor: endmember spectra and the per-wavelength statistics that
/// standardise its input. A spectrum on the grid is read as piecewise linear between grid points; a sensor band sees it
/// through its Gaussian spectral response (<see cref="Response"/>), so sampling the grid at a sensor's bands is an exact
/// linear map and, for a narrow band, equals evaluating the piecewise-linear spectrum at the band's centre.
/// </summary>
public static class SpectralGrid
{
    /// <summary>First grid wavelength (nm).</summary>
    public const double Start = 350;
    /// <summary>Grid spacing (nm).</summary>
    public const double Step = 10;
    /// <summary>Number of grid points.</summary>
    public const int Points = 226;

    /// <summary>The grid's wavelengths (nm).</summary>
    public static double[] Centres { get; } = Enumerable.Range(0, Points).Select(i => Start + Step * i).ToArray();

    /// <summary>Last grid wavelength (nm).</summary>
    public static double End => Start + Step * (Points - 1);

    /// <summary>
    /// The response of each band of <paramref name="bands"/> to the grid, [bands, grid] row-major with rows summing to 1:
    /// row c holds ∫ φ_g(λ) r_c(λ) dλ / ∫ r_c(λ) dλ for the grid's hat functions φ_g and the band's Gaussian response r_c
    /// (σ = FWHM / 2.3548), integrated numerically at a step of at most σ/8 and 1 nm over ±4σ. Wavelengths beyond the
    /// grid read its end points. A band narrower than 0.05 nm takes the hat functions at its centre (linear interpolation).
    /// </summary>
    public static double[] Response(SpectralBands bands)
    {
        var response = new double[bands.Count * Points];
        for (int c = 0; c < bands.Count; c++)
        {
            var row = response.AsSpan(c * Points, Points);
            double centre = bands.Centres[c], sigma = bands.Fwhm[c] / (2 * Math.Sqrt(2 * Math.Log(2)));
            if (sigma < 0.05 / 2.3548)
            {
                Hat(centre, 1, row);
                continue;
            }
            int steps = Math.Max(64, (int)Math.Ceiling(8 * sigma / Math.Min(1, sigma / 8)));
            double h = 8 * sigma / steps;
            for (int k = 0; k <= steps; k++)
            {
                double lambda = centre - 4 * sigma + k * h, z = (lambda - centre) / sigma;
                Hat(lambda, Math.Exp(-0.5 * z * z) * (k == 0 || k == steps ? 0.5 : 1), row);
            }
            double total = 0;
            foreach (double w in row) total += w;
            for (int g = 0; g < Points; g++) row[g] /= total;
        }
        return response;
    }

    /// <summary>Adds <paramref name="weight"/> to the two grid points around <paramref name="lambda"/>, split by linear interpolation.</summary>
    static void Hat(double lambda, double weight, Span<double> row)
    {
        double x = Math.Clamp((lambda - Start) / Step, 0, Points - 1);
        int lo = Math.Min((int)Math.Floor(x), Points - 2);
        double f = x - lo;
        row[lo] += weight * (1 - f);
        row[lo + 1] += weight * f;
    }

    /// <summary>
    /// A per-band quantity (one value per band of <paramref name="bands"/>) spread onto the grid by linear interpolation
    /// along the bands sorted by centre; grid points outside the bands' range take the nearest end's value, and points
    /// outside <paramref name="coveredOnly"/>'s range are NaN when it is set. Bands at the same centre are averaged.
    /// </summary>
    public static double[] FromBands(ReadOnlySpan<double> values, SpectralBands bands, bool coveredOnly = false)
    {
        var order = bands.SortedOrder();
        var xs = new List<double>();
        var ys = new List<double>();
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            double sum = 0;
            while (j < order.Length && bands.Centres[order[j]] == bands.Centres[order[i]]) sum += values[order[j++]];
            xs.Add(bands.Centres[order[i]]);
            ys.Add(sum / (j - i));
            i = j;
        }
        var grid = new double[Points];
        int k = 0;
        for (int g = 0; g < Points; g++)
        {
            double lambda = Centres[g];
            if (lambda <= xs[0]) grid[g] = coveredOnly && lambda < xs[0] - Step / 2 ? double.NaN : ys[0];
            else if (lambda >= xs[^1]) grid[g] = coveredOnly && lambda > xs[^1] + Step / 2 ? double.NaN : ys[^1];
            else
            {
                while (xs[k + 1] < lambda) k++;
                double f = (lambda - xs[k]) / (xs[k + 1] - xs[k]);
                grid[g] = ys[k] + f * (ys[k + 1] - ys[k]);
            }
        }
        return grid;
    }
}
