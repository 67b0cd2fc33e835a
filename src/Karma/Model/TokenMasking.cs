using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// Per-sample random masking as in MAE: each tile gets its own random permutation of patches; the first
/// N − round(ratio·N) stay visible. Drawing the noise from a seeded <see cref="Generator"/> makes the
/// mask reproducible, which evaluation relies on (a fixed mask seed gives the same masked patches).
/// </summary>
public sealed class TokenMasking
{
    /// <summary>Patch order after shuffling: [B, N], visible ones first.</summary>
    public required Tensor Shuffle { get; init; }
    /// <summary>Inverse permutation that restores the original patch order: [B, N].</summary>
    public required Tensor Restore { get; init; }
    /// <summary>1 for masked patches, 0 for visible ones, in the original order: [B, N].</summary>
    public required Tensor Mask { get; init; }
    /// <summary>Visible patches per tile.</summary>
    public required int Visible { get; init; }

    /// <summary>Draws masks for <paramref name="batch"/> tiles of <paramref name="tokens"/> patches.</summary>
    public static TokenMasking Sample(long batch, int tokens, int visible, Generator? generator = null, Device? device = null)
    {
        using var noise = rand(new[] { batch, (long)tokens }, generator: generator);
        var shuffle = noise.argsort(dim: 1).to(device ?? CPU);
        var restore = shuffle.argsort(dim: 1);
        using var ordered = ones(batch, tokens, device: device);
        ordered[.., ..visible] = tensor(0f);
        var mask = ordered.gather(1, restore);
        return new TokenMasking { Shuffle = shuffle, Restore = restore, Mask = mask, Visible = visible };
    }

    /// <summary>The maskings of tiles <paramref name="from"/> to <paramref name="to"/> (exclusive) of this batch: a rank's share of a global batch.</summary>
    public TokenMasking Rows(int from, int to) => from == 0 && to == Mask.shape[0] ? this : new TokenMasking
    {
        Shuffle = Shuffle[from..to], Restore = Restore[from..to], Mask = Mask[from..to], Visible = Visible,
    };

    /// <summary>A masking that hides nothing: every patch visible, in order (for unmixing and inference).</summary>
    public static TokenMasking None(long batch, int tokens, Device? device = null)
    {
        var order = arange(tokens, dtype: int64, device: device).unsqueeze(0).expand(batch, tokens).contiguous();
        return new TokenMasking { Shuffle = order, Restore = order.clone(), Mask = zeros(batch, tokens, device: device), Visible = tokens };
    }

    /// <summary>
    /// Each tile's tokens at its own <paramref name="indices"/>: [B, N, ...] and [B, K] → [B, K, ...]. Whole rows are copied
    /// through one index_select over the flattened batch, several times faster on a CPU than <c>gather</c> with an index
    /// expanded over every value (docs/performance.md), and with the same result.
    /// </summary>
    public static Tensor Take(Tensor tokens, Tensor indices)
    {
        long b = tokens.shape[0], n = tokens.shape[1], k = indices.shape[1];
        using var rows = FlatRows(indices, n);
        return tokens.reshape([b * n, .. tokens.shape[2..]]).index_select(0, rows).view([b, k, .. tokens.shape[2..]]);
    }

    /// <summary>
    /// The inverse of <see cref="Take"/>: <paramref name="tokens"/> ([B, N, ...], e.g. an expanded filler) with each tile's
    /// rows at <paramref name="indices"/> ([B, K]) replaced by <paramref name="rows"/> ([B, K, ...]); a new tensor.
    /// </summary>
    public static Tensor Put(Tensor tokens, Tensor indices, Tensor rows)
    {
        long b = tokens.shape[0], n = tokens.shape[1], k = indices.shape[1];
        using var flat = FlatRows(indices, n);
        long[] rest = tokens.shape[2..];
        return tokens.reshape([b * n, .. rest]).index_copy(0, flat, rows.reshape([b * k, .. rest])).view([b, n, .. rest]);
    }

    /// <summary>Per-tile token indices [B, K] → row indices of the flattened batch [B·K] (tile·N + token).</summary>
    static Tensor FlatRows(Tensor indices, long n)
    {
        using var offsets = arange(indices.shape[0], dtype: int64, device: indices.device).mul_(n).unsqueeze(1);
        using var sum = indices + offsets;
        return sum.reshape(-1);
    }

    /// <summary>
    /// Four complementary maskings of a <paramref name="grid"/>×<paramref name="grid"/> patch grid: the k-th hides the
    /// patches at (row mod 2, column mod 2) = (k / 2, k mod 2), so every patch is hidden by exactly one of them and each
    /// hidden patch has all eight neighbours in view. Used to predict every pixel from its context (anomaly scores).
    /// </summary>
    public static TokenMasking[] Lattice(long batch, int grid, Device? device = null)
    {
        if (grid < 2) throw new InvalidSettingException($"Complementary masks need at least 2×2 patches per tile (the model has {grid}×{grid}).");
        var result = new TokenMasking[4];
        for (int k = 0; k < 4; k++)
        {
            var hidden = Enumerable.Range(0, grid * grid).Where(t => (t / grid % 2) * 2 + t % grid % 2 == k).ToArray();
            var order = Enumerable.Range(0, grid * grid).Except(hidden).Concat(hidden).Select(t => (long)t).ToArray();
            var shuffle = tensor(order, device: device).unsqueeze(0).expand(batch, order.Length).contiguous();
            var restore = shuffle.argsort(dim: 1);
            var mask = zeros(batch, grid * grid, device: device);
            foreach (int t in hidden) mask[.., t] = tensor(1f);
            result[k] = new TokenMasking { Shuffle = shuffle, Restore = restore, Mask = mask, Visible = order.Length - hidden.Length };
        }
        return result;
    }
}
