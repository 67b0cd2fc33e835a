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

    /// <summary>[B, 1, T, T] with 1 for valid pixels of the listed tiles, or null when every pixel is valid.</summary>
    public static Tensor? ValidPixels(TileSet tiles, IReadOnlyList<int> indices)
    {
        if (indices.All(i => tiles.Tiles[i].Invalid is null)) return null;
        int pixels = tiles.TileSize * tiles.TileSize;
        var valid = empty(indices.Count, 1, tiles.TileSize, tiles.TileSize);   // filled in place, like Batch
        var data = MemoryMarshal.Cast<byte, float>(valid.bytes);
        for (int i = 0; i < indices.Count; i++)
        {
            var invalid = tiles.Tiles[indices[i]].Invalid;
            for (int p = 0; p < pixels; p++) data[i * pixels + p] = invalid is not null && invalid[p] ? 0f : 1f;
        }
        return valid;
    }

    /// <summary>Stacks the listed tiles into a [B, bands, T, T] tensor.</summary>
    public static Tensor Batch(TileSet tiles, IReadOnlyList<int> indices) =>
        Stack(indices.Select(i => tiles.Tiles[i].Values).ToList(), tiles.Bands, tiles.TileSize);

    /// <summary>
    /// Stacks tiles of [bands][T][T] values into a [B, bands, T, T] CPU tensor. They are written straight into the
    /// tensor's memory, tile by tile (a span cannot pass 2 GB): a managed array of the batch's size per step was a
    /// large-object allocation that kept triggering full garbage collections.
    /// </summary>
    public static Tensor Stack(IReadOnlyList<float[]> tiles, int bands, int tileSize)
    {
        var batch = empty(tiles.Count, bands, tileSize, tileSize);
        for (int i = 0; i < tiles.Count; i++)
        {
            using var slot = batch[i];
            tiles[i].CopyTo(MemoryMarshal.Cast<byte, float>(slot.bytes));
        }
        return batch;
    }
}
