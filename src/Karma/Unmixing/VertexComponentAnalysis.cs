using static TorchSharp.torch;

namespace Karma.Unmixing;

/// <summary>
/// Vertex Component Analysis (Nascimento &amp; Bioucas-Dias, 2005): finds the M purest pixels of a scene as the
/// vertices of the simplex the data spans. The data are projected onto their M-dimensional signal subspace
/// (projective projection at high SNR, PCA with an added constant dimension at low SNR); then M times a random
/// direction orthogonal to the vertices found so far is drawn and the pixel with the largest projection on it
/// is the next vertex. Seeded, so the same pixels come back each time.
/// </summary>
public static class VertexComponentAnalysis
{
    /// <summary>
    /// Endmember spectra [bands, M] (the chosen pixels, unprojected) and their indices among the
    /// <paramref name="pixels"/> [bands, N].
    /// </summary>
    public static (float[,] Endmembers, int[] Indices) Extract(float[,] pixels, int endmembers, int seed = 0)
    {
        int bands = pixels.GetLength(0), n = pixels.GetLength(1);
        if (endmembers < 2 || endmembers > bands || endmembers > n)
            throw new InvalidSettingException($"VCA needs 2 ≤ M ≤ min(bands, pixels); got M = {endmembers} with {bands} bands and {n} pixels.");
        using var scope = NewDisposeScope();
        var y = from_array(pixels).to_type(ScalarType.Float64);                       // [L, N]
        var mean = y.mean([1L], keepdim: true);
        var centred = y - mean;
        var ud = TopEigenvectors(centred.matmul(centred.t()) / n, endmembers);        // [L, M]
        var xp = ud.t().matmul(centred);                                              // [M, N]
        double snr = EstimateSnr(y, mean, xp);
        Tensor projected;
        if (snr < 15 + 10 * Math.Log10(endmembers))
        {
            var x = xp[..(endmembers - 1)];
            double c = x.square().sum(dim: 0).max().sqrt().to_type(ScalarType.Float64).item<double>();
            projected = cat([x, full(1, n, c, dtype: ScalarType.Float64)], 0);
        }
        else
        {
            var u2 = TopEigenvectors(y.matmul(y.t()) / n, endmembers);
            var x = u2.t().matmul(y);
            var u = x.mean([1L], keepdim: true);
            projected = x / u.t().matmul(x).clamp_min(1e-12);
        }
        var generator = new Generator((ulong)seed);
        var a = zeros(endmembers, endmembers, dtype: ScalarType.Float64);
        a[endmembers - 1, 0] = 1;
        var indices = new int[endmembers];
        for (int i = 0; i < endmembers; i++)
        {
            var w = randn(endmembers, 1, dtype: ScalarType.Float64, generator: generator);
            var f = w - a.matmul(linalg.pinv(a)).matmul(w);
            f /= f.norm().clamp_min(1e-12);
            indices[i] = (int)f.t().matmul(projected).abs().argmax().item<long>();
            a[.., i] = projected[.., indices[i]];
        }
        var result = new float[bands, endmembers];
        for (int i = 0; i < endmembers; i++)
            for (int b = 0; b < bands; b++) result[b, i] = pixels[b, indices[i]];
        return (result, indices);
    }

    static Tensor TopEigenvectors(Tensor symmetric, int count)
    {
        var (_, vectors) = linalg.eigh(symmetric);         // ascending eigenvalues
        return vectors[.., (int)(symmetric.shape[0] - count)..].flip(1);
    }

    static double EstimateSnr(Tensor y, Tensor mean, Tensor x)
    {
        long bands = y.shape[0], n = y.shape[1], p = x.shape[0];
        double py = y.square().sum().item<double>() / n;
        double px = x.square().sum().item<double>() / n + mean.square().sum().item<double>();
        return 10 * Math.Log10(Math.Max(px - p / (double)bands * py, 1e-12) / Math.Max(py - px, 1e-12));
    }
}
