namespace Karma.Unmixing;

/// <summary>
/// Compares estimated endmembers with reference ones the way unmixing papers do: the spectral angle
/// distance (SAD) between every pair, an optimal one-to-one assignment minimising the total SAD (the
/// Hungarian algorithm), and the mean SAD in degrees over matched pairs. SAD ignores scale, and the matching
/// makes the result independent of the order in which either set lists its endmembers.
/// </summary>
public static class EndmemberMatching
{
    /// <summary>Angle in degrees between two spectra (0 for identical shapes regardless of brightness).</summary>
    public static double SpectralAngleDegrees(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        if (na == 0 || nb == 0) return 90;
        return Math.Acos(Math.Clamp(dot / Math.Sqrt(na * nb), -1, 1)) * 180 / Math.PI;
    }

    /// <summary>
    /// Matches each reference endmember (columns of <paramref name="reference"/> [bands, R]) to a distinct
    /// estimated one (columns of <paramref name="estimate"/> [bands, E], E ≥ R). Returns, per reference
    /// endmember, the index of its estimate and their SAD in degrees.
    /// </summary>
    public static (int[] Estimate, double[] SadDegrees) Match(double[,] reference, double[,] estimate)
    {
        int bands = reference.GetLength(0), r = reference.GetLength(1), e = estimate.GetLength(1);
        if (estimate.GetLength(0) != bands) throw new BandMismatchException($"Endmembers have {estimate.GetLength(0)} bands but the reference has {bands}.");
        if (e < r) throw new InvalidSettingException($"{e} estimated endmembers cannot be matched one-to-one with {r} reference endmembers; estimate at least {r}.");
        var cost = new double[r, e];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < e; j++) cost[i, j] = SpectralAngleDegrees(Column(reference, i), Column(estimate, j));
        var assignment = Hungarian(cost);
        return (assignment, assignment.Select((j, i) => cost[i, j]).ToArray());
    }

    /// <summary>Column <paramref name="j"/> of a [rows, cols] matrix.</summary>
    public static double[] Column(double[,] matrix, int j) => Enumerable.Range(0, matrix.GetLength(0)).Select(i => matrix[i, j]).ToArray();

    /// <summary>
    /// Minimum-cost assignment of every row to a distinct column of a rows ≤ columns cost matrix
    /// (Kuhn–Munkres with potentials, O(rows² · columns)). Returns the column of each row.
    /// </summary>
    public static int[] Hungarian(double[,] cost)
    {
        int n = cost.GetLength(0), m = cost.GetLength(1);
        if (n > m) throw new ArgumentException("more rows than columns");
        var u = new double[n + 1];
        var v = new double[m + 1];
        var p = new int[m + 1];   // p[j]: row (1-based) assigned to column j
        var way = new int[m + 1];
        for (int i = 1; i <= n; i++)
        {
            p[0] = i;
            int j0 = 0;
            var minv = Enumerable.Repeat(double.PositiveInfinity, m + 1).ToArray();
            var used = new bool[m + 1];
            do
            {
                used[j0] = true;
                int i0 = p[j0], j1 = 0;
                double delta = double.PositiveInfinity;
                for (int j = 1; j <= m; j++)
                {
                    if (used[j]) continue;
                    double cur = cost[i0 - 1, j - 1] - u[i0] - v[j];
                    if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                    if (minv[j] < delta) { delta = minv[j]; j1 = j; }
                }
                for (int j = 0; j <= m; j++)
                {
                    if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
                    else minv[j] -= delta;
                }
                j0 = j1;
            } while (p[j0] != 0);
            do
            {
                int j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
            } while (j0 != 0);
        }
        var result = new int[n];
        for (int j = 1; j <= m; j++) if (p[j] != 0) result[p[j] - 1] = j - 1;
        return result;
    }
}
