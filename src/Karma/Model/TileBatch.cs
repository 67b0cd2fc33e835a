using System.Runtime.InteropServices;
using Karma.Data;
using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// Tiles as tensors: stacking [bands][T][T] tiles into a batch, their validity masks, and the eight flips and rotations
/// of the square that training and fine-tuning apply to a tile and its labels alike.
/// </summary>
public static class TileBatch
{
    /// <summary>
    /// A [channels, T, T] tile turned by the <paramref name="k"/>-th (0–7) of the 8 flips/rotations of the square:
    /// k mod 4 quarter turns, then a horizontal flip for k ≥ 4. Labels turned with the same k stay on their pixels.
    /// </summary>
    public static Tensor Turn(Tensor tile, int k)
    {
        var turned = tile.rot90(k % 4, (1, 2));
        return k >= 4 ? turned.flip(2) : turned;
    }

    /// <summary>
    /// [B, 1, T, T] with 1 for valid pixels of the listed tiles, or null when every pixel is valid; with
    /// <paramref name="turns"/> each tile's mask turned as <see cref="Turn"/> turns it, like its tile in <see cref="Batch"/>.
    /// </summary>
    public static Tensor? ValidPixels(TileSet tiles, IReadOnlyList<int> indices, IReadOnlyList<int>? turns = null)
    {
        if (indices.All(i => tiles.Tiles[i].Invalid is null)) return null;
        int pixels = tiles.TileSize * tiles.TileSize;
        var masks = indices.Select(i => tiles.Tiles[i].Invalid is { } invalid ? invalid.Select(x => x ? 0f : 1f).ToArray() : Enumerable.Repeat(1f, pixels).ToArray()).ToList();
        return Stack(masks, 1, tiles.TileSize, turns);
    }

    /// <summary>Stacks the listed tiles into a [B, bands, T, T] tensor, each turned by its entry of <paramref name="turns"/> (<see cref="Turn"/>'s k) when given.</summary>
    public static Tensor Batch(TileSet tiles, IReadOnlyList<int> indices, IReadOnlyList<int>? turns = null) =>
        Stack(indices.Select(i => tiles.Tiles[i].Values).ToList(), tiles.Bands, tiles.TileSize, turns);

    /// <summary>
    /// Stacks tiles of [bands][T][T] values into a [B, bands, T, T] CPU tensor, each turned by its entry of
    /// <paramref name="turns"/> when given. They are written straight into the tensor's memory, already turned, band
    /// planes in parallel: a managed array of the batch's size per step was a large-object allocation that kept
    /// triggering full garbage collections, and turning the stacked batch with <see cref="Turn"/> and stacking it again
    /// took two more copies (14 ms a step for the small preset's batch).
    /// </summary>
    public static unsafe Tensor Stack(IReadOnlyList<float[]> tiles, int bands, int tileSize, IReadOnlyList<int>? turns = null)
    {
        if (turns is not null && turns.Count != tiles.Count) throw new ArgumentException($"{turns.Count} turns for {tiles.Count} tiles.", nameof(turns));
        for (int i = 0; i < tiles.Count; i++)
            if (tiles[i].Length != (long)bands * tileSize * tileSize)
                throw new ArgumentException($"Tile {i} holds {tiles[i].Length} values, not {bands} bands × {tileSize}×{tileSize}.", nameof(tiles));
        var batch = empty(tiles.Count, bands, tileSize, tileSize);
        float* into = (float*)CpuKernels.Address(batch);
        long plane = (long)tileSize * tileSize;
        CpuKernels.ForEachBlock((long)tiles.Count * bands, 8, (_, from, to) =>
        {
            for (long p = from; p < to; p++)
            {
                int tile = (int)(p / bands), band = (int)(p % bands);
                var source = new ReadOnlySpan<float>(tiles[tile], (int)(band * plane), (int)plane);
                TurnPlane(source, new Span<float>(into + p * plane, (int)plane), tileSize, turns?[tile] ?? 0);
            }
        });
        return batch;
    }

    /// <summary>
    /// One T×T plane turned by the k-th flip/rotation (<see cref="Turn"/>): target pixel (i, j) reads source index
    /// a + b·i + d·j, where k mod 4 counter-clockwise quarter turns give (a, b, d) and a horizontal flip (k ≥ 4) runs j
    /// backwards; so each target row is one run of the source, forwards, backwards or down a column.
    /// </summary>
    static unsafe void TurnPlane(ReadOnlySpan<float> source, Span<float> target, int n, int k)
    {
        if (k == 0) { source.CopyTo(target); return; }
        var (a, b, d) = (k % 4) switch { 0 => (0, n, 1), 1 => (n - 1, -1, n), 2 => (n * n - 1, -n, -1), _ => ((n - 1) * n, 1, -n) };
        if (k >= 4) (a, d) = (a + d * (n - 1), -d);
        fixed (float* from = source, into = target)
            for (int i = 0; i < n; i++)
            {
                float* row = into + i * n, read = from + a + b * i;
                for (int j = 0; j < n; j++) row[j] = read[j * d];
            }
    }
}
