using Karma.Data;
using static TorchSharp.torch;

namespace Karma.Anomaly;

/// <summary>
/// The Reed–Xiaoli detectors, the baselines every hyperspectral anomaly detector is compared with: a pixel's
/// Mahalanobis distance (x − μ)ᵀ Σ⁺ (x − μ) from a background's mean and covariance. Global RX takes the background to be
/// the whole scene (population covariance, pseudo-inverse with numpy's 1e-15 relative cut-off, so it equals the common
/// Python implementations); local RX takes each pixel's own ring of neighbours between an inner guard window and an outer
/// window, after projecting the spectra on their leading principal components (a ring of a few hundred pixels cannot
/// estimate a covariance of hundreds of bands).
/// </summary>
public static class RxDetector
{
    /// <summary>Global RX score of every pixel of <paramref name="cube"/> [row·col]; invalid pixels are NaN and do not enter μ or Σ.</summary>
    public static float[] Global(ReflectanceCube cube)
    {
        int pixels = cube.Rows * cube.Cols;
        var valid = Enumerable.Range(0, pixels).Where(p => !cube.Invalid[p]).ToArray();
        if (valid.Length < 2) throw new InvalidSettingException("Global RX needs at least two valid pixels.");
        using var scope = NewDisposeScope();
        var x = Spectra(cube, valid);                                              // [N, B] float64
        var centred = x - x.mean([0L], keepdim: true);
        var covariance = centred.t().matmul(centred) / valid.Length;
        var inverse = PseudoInverse(covariance);
        var scores = (centred.matmul(inverse) * centred).sum(1).data<double>().ToArray();
        var result = Enumerable.Repeat(float.NaN, pixels).ToArray();
        for (int i = 0; i < valid.Length; i++) result[valid[i]] = (float)scores[i];
        return result;
    }

    /// <summary>
    /// Local (dual-window) RX: each pixel against the valid pixels of the ring between a <paramref name="inner"/>-wide guard
    /// window and an <paramref name="outer"/>-wide window centred on it (clipped at the scene's edges), in the space of the
    /// scene's <paramref name="components"/> leading principal components; each ring's covariance gets 1e-6 of its trace
    /// added to the diagonal so a flat ring stays invertible.
    /// </summary>
    public static float[] Local(ReflectanceCube cube, int inner = 5, int outer = 15, int components = 20)
    {
        new AnomalyOptions(inner, outer, components).Validate();
        int rows = cube.Rows, cols = cube.Cols, pixels = rows * cols;
        var valid = Enumerable.Range(0, pixels).Where(p => !cube.Invalid[p]).ToArray();
        int k = Math.Min(components, Math.Min(cube.Bands, valid.Length - 1));
        var projected = new double[pixels * k];                                  // [pixel][component]
        using (var scope = NewDisposeScope())
        {
            var x = Spectra(cube, valid);
            var centred = x - x.mean([0L], keepdim: true);
            var (_, vectors) = linalg.eigh(centred.t().matmul(centred) / valid.Length);
            var leading = vectors[.., (int)(vectors.shape[1] - k)..];
            var values = centred.matmul(leading).contiguous().data<double>().ToArray();
            for (int i = 0; i < valid.Length; i++) Array.Copy(values, i * k, projected, valid[i] * k, k);
        }
        var scores = new float[pixels];
        int ro = outer / 2, ri = inner / 2;
        Parallel.For(0, pixels, p => scores[p] = cube.Invalid[p] ? float.NaN : (float)Ring(projected, cube.Invalid, rows, cols, k, p, ri, ro));
        return scores;
    }

    /// <summary>The local RX score of pixel <paramref name="p"/> against its ring.</summary>
    static double Ring(double[] x, bool[] invalid, int rows, int cols, int k, int p, int ri, int ro)
    {
        int r = p / cols, c = p % cols;
        var members = new List<int>();
        for (int y = Math.Max(0, r - ro); y <= Math.Min(rows - 1, r + ro); y++)
            for (int xx = Math.Max(0, c - ro); xx <= Math.Min(cols - 1, c + ro); xx++)
                if ((Math.Abs(y - r) > ri || Math.Abs(xx - c) > ri) && !invalid[y * cols + xx]) members.Add(y * cols + xx);
        if (members.Count < 2) return double.NaN;
        var mean = new double[k];
        foreach (int q in members) for (int i = 0; i < k; i++) mean[i] += x[q * k + i];
        for (int i = 0; i < k; i++) mean[i] /= members.Count;
        var cov = new double[k, k];
        var d = new double[k];
        foreach (int q in members)
        {
            for (int i = 0; i < k; i++) d[i] = x[q * k + i] - mean[i];
            for (int i = 0; i < k; i++) for (int j = 0; j <= i; j++) cov[i, j] += d[i] * d[j];
        }
        double trace = 0;
        for (int i = 0; i < k; i++) trace += cov[i, i] / members.Count;
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j <= i; j++) { cov[i, j] /= members.Count; cov[j, i] = cov[i, j]; }
            cov[i, i] += 1e-6 * trace / k + 1e-30;
        }
        for (int i = 0; i < k; i++) d[i] = x[p * k + i] - mean[i];
        var solved = CholeskySolve(cov, d);
        double score = 0;
        for (int i = 0; i < k; i++) score += d[i] * solved[i];
        return score;
    }

    static double[] CholeskySolve(double[,] a, double[] b)
    {
        int n = b.Length;
        var l = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = a[i, j];
                for (int t = 0; t < j; t++) s -= l[i, t] * l[j, t];
                l[i, j] = i == j ? Math.Sqrt(Math.Max(s, 1e-300)) : s / l[j, j];
            }
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = b[i];
            for (int t = 0; t < i; t++) s -= l[i, t] * y[t];
            y[i] = s / l[i, i];
        }
        var z = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double s = y[i];
            for (int t = i + 1; t < n; t++) s -= l[t, i] * z[t];
            z[i] = s / l[i, i];
        }
        return z;
    }

    /// <summary>The Moore–Penrose inverse of a symmetric matrix: eigenvalues below 1e-15 of the largest (in magnitude) count as zero.</summary>
    public static Tensor PseudoInverse(Tensor symmetric)
    {
        using var scope = NewDisposeScope();
        var (values, vectors) = linalg.eigh(symmetric);
        double cutoff = 1e-15 * values.abs().max().item<double>();
        var inverted = where(values.abs() > cutoff, 1 / values, zeros_like(values));
        return (vectors * inverted.unsqueeze(0)).matmul(vectors.t()).MoveToOuterDisposeScope();
    }

    static Tensor Spectra(ReflectanceCube cube, int[] pixels)
    {
        int total = cube.Rows * cube.Cols;
        var data = new double[pixels.Length * cube.Bands];
        for (int i = 0; i < pixels.Length; i++)
            for (int b = 0; b < cube.Bands; b++) data[i * cube.Bands + b] = cube.Values[b * total + pixels[i]];
        return tensor(data, pixels.Length, cube.Bands);
    }
}
