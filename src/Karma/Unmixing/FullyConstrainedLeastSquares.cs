namespace Karma.Unmixing;

/// <summary>
/// Fully constrained least-squares unmixing (Heinz &amp; Chang, 2001): for each pixel y the abundances a that
/// minimise ‖A·a − y‖² subject to a ≥ 0 and Σa = 1. The sum-to-one constraint is enforced by appending a
/// heavily weighted row of ones to A and y, and the non-negativity by Lawson–Hanson's active-set NNLS, run on
/// the M×M normal equations so the cost per pixel does not grow with the number of bands.
/// </summary>
public sealed class FullyConstrainedLeastSquares
{
    /// <summary>Weight of the sum-to-one row relative to the spectral rows; large enough that Σa = 1 to ~1e-6.</summary>
    public const double SumToOneWeight = 1e3;

    readonly double[,] endmembers; // [bands, M]
    readonly double[,] gram;       // [M, M] of the augmented system
    readonly int bands, m;

    /// <summary>Prepares to unmix with the endmember matrix <paramref name="endmembers"/> [bands, M].</summary>
    public FullyConstrainedLeastSquares(float[,] endmembers)
    {
        bands = endmembers.GetLength(0);
        m = endmembers.GetLength(1);
        if (m < 1 || bands < 1) throw new ArgumentException("need at least one band and one endmember");
        this.endmembers = new double[bands, m];
        for (int b = 0; b < bands; b++)
            for (int j = 0; j < m; j++) this.endmembers[b, j] = endmembers[b, j];
        gram = new double[m, m];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
            {
                double s = SumToOneWeight * SumToOneWeight;
                for (int b = 0; b < bands; b++) s += this.endmembers[b, i] * this.endmembers[b, j];
                gram[i, j] = s;
            }
    }

    /// <summary>Number of endmembers.</summary>
    public int Endmembers => m;

    /// <summary>Abundances of one pixel spectrum (length = bands) into <paramref name="abundances"/> (length M).</summary>
    public void Unmix(ReadOnlySpan<float> spectrum, Span<double> abundances)
    {
        if (spectrum.Length != bands || abundances.Length != m) throw new ArgumentException($"expected {bands} values and room for {m} abundances");
        var rhs = new double[m];
        for (int j = 0; j < m; j++)
        {
            double s = SumToOneWeight * SumToOneWeight;
            for (int b = 0; b < bands; b++) s += endmembers[b, j] * spectrum[b];
            rhs[j] = s;
        }
        NonNegative(gram, rhs, abundances);
    }

    /// <summary>
    /// Lawson–Hanson NNLS on normal equations: minimise ½xᵀGx − bᵀx with x ≥ 0. Variables move from the active
    /// (zero) set to the passive set one at a time by largest gradient, with a step back to feasibility
    /// whenever the unconstrained solution on the passive set has a negative entry.
    /// </summary>
    static void NonNegative(double[,] g, double[] b, Span<double> x)
    {
        int n = b.Length;
        var passive = new bool[n];
        var excluded = new bool[n]; // variables whose entry failed numerically; never tried again
        x.Clear();
        var z = new double[n];
        for (int iteration = 0; iteration < 3 * n + 10; iteration++)
        {
            // Gradient w = b − Gx; stop when no active variable would decrease the objective.
            int best = -1;
            double bestW = 1e-10 * Math.Max(1, b.Max(Math.Abs));
            for (int i = 0; i < n; i++)
            {
                if (passive[i] || excluded[i]) continue;
                double w = b[i];
                for (int j = 0; j < n; j++) w -= g[i, j] * x[j];
                if (w > bestW) { bestW = w; best = i; }
            }
            if (best < 0) return;
            passive[best] = true;
            SolvePassive(g, b, passive, z);
            if (!(z[best] > 0))
            {
                // In exact arithmetic a variable with positive gradient enters positive; if rounding says
                // otherwise, leave it out rather than cycle.
                passive[best] = false;
                excluded[best] = true;
                continue;
            }
            for (int inner = 0; inner < n + 1; inner++)
            {
                bool feasible = true;
                double alpha = 1;
                for (int i = 0; i < n; i++)
                    if (passive[i] && z[i] <= 0)
                    {
                        feasible = false;
                        alpha = Math.Min(alpha, x[i] / (x[i] - z[i])); // x_i > 0 ≥ z_i here, so 0 ≤ α < 1
                    }
                if (feasible)
                {
                    for (int i = 0; i < n; i++) x[i] = passive[i] ? z[i] : 0;
                    break;
                }
                for (int i = 0; i < n; i++)
                {
                    x[i] += alpha * ((passive[i] ? z[i] : 0) - x[i]);
                    if (passive[i] && x[i] <= 1e-14) { passive[i] = false; x[i] = 0; }
                }
                SolvePassive(g, b, passive, z);
            }
        }
    }

    /// <summary>Solves G_PP z_P = b_P by Cholesky; entries outside the passive set are 0.</summary>
    static void SolvePassive(double[,] g, double[] b, bool[] passive, double[] z)
    {
        var index = Enumerable.Range(0, b.Length).Where(i => passive[i]).ToArray();
        int k = index.Length;
        var l = new double[k, k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = g[index[i], index[j]];
                for (int t = 0; t < j; t++) s -= l[i, t] * l[j, t];
                l[i, j] = i == j ? Math.Sqrt(Math.Max(s, 1e-300)) : s / l[j, j];
            }
        var y = new double[k];
        for (int i = 0; i < k; i++)
        {
            double s = b[index[i]];
            for (int t = 0; t < i; t++) s -= l[i, t] * y[t];
            y[i] = s / l[i, i];
        }
        Array.Clear(z);
        for (int i = k - 1; i >= 0; i--)
        {
            double s = y[i];
            for (int t = i + 1; t < k; t++) s -= l[t, i] * z[index[t]];
            z[index[i]] = s / l[i, i];
        }
    }
}
