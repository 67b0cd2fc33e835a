namespace Karma.Evaluation;

/// <summary>
/// SSIM of one band exactly as scikit-image's <c>structural_similarity</c> computes it with
/// <c>gaussian_weights=True, sigma=1.5, use_sample_covariance=False, K1=0.01, K2=0.03</c>: local means,
/// variances and covariance under a normalised 11×11 Gaussian window (radius int(3.5σ + 0.5) = 5), the SSIM
/// map, and its mean over pixels at least 5 from the border (where the window lies fully inside the image).
/// The result lies in [-1, 1]; images smaller than 11×11 have no such pixels and are rejected.
/// With an <c>invalid</c> mask (no-data pixels), the mean runs only over windows that hold no invalid pixel, so
/// a no-data pixel neither raises nor lowers the score; <see cref="double.NaN"/> when no window is clean.
/// </summary>
public static class StructuralSimilarity
{
    const double Sigma = 1.5, K1 = 0.01, K2 = 0.03;
    const int Radius = 5;
    static readonly double[] Kernel = MakeKernel();

    static double[] MakeKernel()
    {
        var k = new double[2 * Radius + 1];
        for (int i = -Radius; i <= Radius; i++) k[i + Radius] = Math.Exp(-0.5 * i * i / (Sigma * Sigma));
        double sum = k.Sum();
        return k.Select(v => v / sum).ToArray();
    }

    /// <summary>Smallest image side SSIM is defined for.</summary>
    public const int MinimumSide = 2 * Radius + 1;

    /// <summary>SSIM of <paramref name="estimate"/> against <paramref name="reference"/>, both [rows][cols] row-major.</summary>
    public static double Compute(ReadOnlySpan<float> reference, ReadOnlySpan<float> estimate, int rows, int cols, double dataRange = 1.0)
        => Compute(reference, estimate, rows, cols, default, dataRange);

    /// <summary>SSIM as above, averaged over windows that contain no pixel flagged in <paramref name="invalid"/> (empty: all valid).</summary>
    public static double Compute(ReadOnlySpan<float> reference, ReadOnlySpan<float> estimate, int rows, int cols, ReadOnlySpan<bool> invalid, double dataRange = 1.0)
    {
        if (rows < MinimumSide || cols < MinimumSide)
            throw new InvalidSettingException($"SSIM needs images of at least {MinimumSide}×{MinimumSide} pixels (got {rows}×{cols}).");
        if (reference.Length < rows * cols || estimate.Length < rows * cols)
            throw new ArgumentException("images are smaller than rows × cols");
        double c1 = K1 * dataRange * (K1 * dataRange), c2 = K2 * dataRange * (K2 * dataRange);
        int outRows = rows - 2 * Radius, outCols = cols - 2 * Radius;
        // Horizontal pass of the five moments for every row, only at columns whose window fits.
        var h = new double[5, rows, outCols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < outCols; c++)
            {
                double x = 0, y = 0, xx = 0, yy = 0, xy = 0;
                for (int k = 0; k <= 2 * Radius; k++)
                {
                    double w = Kernel[k], a = reference[r * cols + c + k], b = estimate[r * cols + c + k];
                    x += w * a; y += w * b; xx += w * a * a; yy += w * b * b; xy += w * a * b;
                }
                h[0, r, c] = x; h[1, r, c] = y; h[2, r, c] = xx; h[3, r, c] = yy; h[4, r, c] = xy;
            }
        var clean = invalid.IsEmpty ? null : CleanWindows(invalid, rows, cols);
        double total = 0;
        int counted = 0;
        for (int r = 0; r < outRows; r++)
            for (int c = 0; c < outCols; c++)
            {
                if (clean is not null && !clean[r * outCols + c]) continue;
                counted++;
                double ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0;
                for (int k = 0; k <= 2 * Radius; k++)
                {
                    double w = Kernel[k];
                    ux += w * h[0, r + k, c]; uy += w * h[1, r + k, c]; uxx += w * h[2, r + k, c]; uyy += w * h[3, r + k, c]; uxy += w * h[4, r + k, c];
                }
                double vx = uxx - ux * ux, vy = uyy - uy * uy, vxy = uxy - ux * uy;
                total += (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
            }
        return counted == 0 ? double.NaN : total / counted;
    }

    /// <summary>For each window centre whose window fits, whether its (2R+1)² window holds no invalid pixel (summed-area table).</summary>
    static bool[] CleanWindows(ReadOnlySpan<bool> invalid, int rows, int cols)
    {
        var sum = new int[(rows + 1) * (cols + 1)];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                sum[(r + 1) * (cols + 1) + c + 1] = (invalid[r * cols + c] ? 1 : 0) + sum[r * (cols + 1) + c + 1]
                                                    + sum[(r + 1) * (cols + 1) + c] - sum[r * (cols + 1) + c];
        int side = 2 * Radius + 1, outRows = rows - 2 * Radius, outCols = cols - 2 * Radius;
        var clean = new bool[outRows * outCols];
        for (int r = 0; r < outRows; r++)
            for (int c = 0; c < outCols; c++)
                clean[r * outCols + c] = sum[(r + side) * (cols + 1) + c + side] - sum[r * (cols + 1) + c + side]
                                         - sum[(r + side) * (cols + 1) + c] + sum[r * (cols + 1) + c] == 0;
        return clean;
    }
}
