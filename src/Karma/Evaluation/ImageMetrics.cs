using Karma.Data;

namespace Karma.Evaluation;

/// <summary>
/// Quality of an estimated cube against a reference cube of the same shape, both [band][row][col]:
/// PSNR = 10·log10(range² / MSE) over all values; RMSE; SSIM = mean over bands of
/// <see cref="StructuralSimilarity"/>; SAM = mean over pixels of the angle between the two spectra, in degrees
/// (pixels where either spectrum is all zero are skipped). These are the definitions scikit-image and the
/// hyperspectral literature use, so numbers compare with published ones.
/// </summary>
public sealed record ImageMetrics(double Psnr, double Rmse, double Ssim, double SamDegrees, double[] SsimPerBand, double DataRange)
{
    /// <summary>Metrics of <paramref name="estimate"/> against <paramref name="reference"/>.</summary>
    public static ImageMetrics Compute(ReadOnlySpan<float> reference, ReadOnlySpan<float> estimate, int bands, int rows, int cols, double dataRange = 1.0)
    {
        int pixels = rows * cols;
        if (reference.Length != bands * pixels || estimate.Length != bands * pixels)
            throw new ArgumentException($"both cubes must hold {bands}×{rows}×{cols} values");
        double se = 0;
        for (int i = 0; i < reference.Length; i++) { double d = (double)estimate[i] - reference[i]; se += d * d; }
        double mse = se / reference.Length;
        var ssim = new double[bands];
        for (int b = 0; b < bands; b++)
            ssim[b] = StructuralSimilarity.Compute(reference.Slice(b * pixels, pixels), estimate.Slice(b * pixels, pixels), rows, cols, dataRange);
        double angles = 0;
        int counted = 0;
        for (int p = 0; p < pixels; p++)
        {
            double dot = 0, nr = 0, ne = 0;
            for (int b = 0; b < bands; b++)
            {
                double r = reference[b * pixels + p], e = estimate[b * pixels + p];
                dot += r * e; nr += r * r; ne += e * e;
            }
            if (nr == 0 || ne == 0) continue;
            angles += Math.Acos(Math.Clamp(dot / Math.Sqrt(nr * ne), -1, 1));
            counted++;
        }
        return new ImageMetrics(10 * Math.Log10(dataRange * dataRange / mse), Math.Sqrt(mse), ssim.Average(),
                                counted > 0 ? angles / counted * 180 / Math.PI : double.NaN, ssim, dataRange);
    }

    /// <summary>Metrics between two scene files of equal shape, read whole (as stored, no scaling).</summary>
    public static ImageMetrics Compute(string referencePath, string estimatePath, double dataRange = 1.0)
    {
        using var reference = HyperspectralScene.Open(referencePath);
        using var estimate = HyperspectralScene.Open(estimatePath);
        if ((reference.Lines, reference.Samples, reference.Bands) != (estimate.Lines, estimate.Samples, estimate.Bands))
            throw new BandMismatchException(estimatePath, $"is {estimate.Lines}×{estimate.Samples}×{estimate.Bands} but the reference {referencePath} is " +
                                                   $"{reference.Lines}×{reference.Samples}×{reference.Bands}; metrics need equal shapes.");
        var a = new float[reference.Bands * reference.Lines * reference.Samples];
        var b = new float[a.Length];
        reference.ReadWindow(0, 0, reference.Lines, reference.Samples, [], a);
        estimate.ReadWindow(0, 0, estimate.Lines, estimate.Samples, [], b);
        return Compute(a, b, reference.Bands, reference.Lines, reference.Samples, dataRange);
    }
}
