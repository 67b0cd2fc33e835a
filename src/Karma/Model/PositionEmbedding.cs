using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// Fixed 2-D sine-cosine position embeddings, as in ViT-MAE: half the channels encode the patch row,
/// half the column, each with sines and cosines at geometrically spaced frequencies. Fixed rather than
/// learned so that the embedding is the same for every run and needs no training.
/// </summary>
public static class PositionEmbedding
{
    /// <summary>Returns a [grid², dim] tensor; <paramref name="dim"/> must be a multiple of 4.</summary>
    public static Tensor SineCosine2D(int dim, int grid)
    {
        if (dim % 4 != 0) throw new InvalidSettingException($"Position embeddings need a width divisible by 4 (got {dim}).");
        int quarter = dim / 4;
        var table = new float[grid * grid * dim];
        for (int r = 0; r < grid; r++)
            for (int c = 0; c < grid; c++)
            {
                var row = table.AsSpan((r * grid + c) * dim, dim);
                for (int k = 0; k < quarter; k++)
                {
                    double omega = 1.0 / Math.Pow(10000, k / (double)quarter);
                    // First half: column (x) position; second half: row (y), as MAE's reference code lays it out.
                    row[k] = (float)Math.Sin(c * omega);
                    row[quarter + k] = (float)Math.Cos(c * omega);
                    row[2 * quarter + k] = (float)Math.Sin(r * omega);
                    row[3 * quarter + k] = (float)Math.Cos(r * omega);
                }
            }
        return tensor(table, grid * grid, dim);
    }

    /// <summary>
    /// Positions of (patch, band group) tokens, [grid²·groups, dim] with token index patch·groups + group: the first
    /// three quarters of the channels are the patch's 2-D embedding, the last quarter the group's 1-D sine-cosine
    /// (concatenated as SpectralGPT does, so space and spectrum never alias). <paramref name="dim"/> must be a multiple of 16.
    /// </summary>
    public static Tensor SpectralSpatial(int dim, int grid, int groups)
    {
        if (dim % 16 != 0) throw new InvalidSettingException($"Spectral-spatial position embeddings need a width divisible by 16 (got {dim}).");
        int spatialDim = dim * 3 / 4, half = dim / 8;
        using var spatial = SineCosine2D(spatialDim, grid);
        var spatialValues = spatial.data<float>().ToArray();
        var table = new float[grid * grid * groups * dim];
        for (int n = 0; n < grid * grid; n++)
            for (int g = 0; g < groups; g++)
            {
                var row = table.AsSpan((n * groups + g) * dim, dim);
                spatialValues.AsSpan(n * spatialDim, spatialDim).CopyTo(row);
                for (int k = 0; k < half; k++)
                {
                    double omega = 1.0 / Math.Pow(10000, k / (double)half);
                    row[spatialDim + k] = (float)Math.Sin(g * omega);
                    row[spatialDim + half + k] = (float)Math.Cos(g * omega);
                }
            }
        return tensor(table, grid * grid * groups, dim);
    }
}
