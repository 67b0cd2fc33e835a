using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// Cuts image tiles into patch tokens and back. A token holds its patch's pixels in row-major order, each
/// pixel's full spectrum contiguous: [P·P, bands], so per-pixel spectra are a reshape away.
/// </summary>
public static class Patches
{
    /// <summary>[B, bands, H, W] → [B, (H/P)·(W/P), P·P·bands].</summary>
    public static Tensor Patchify(Tensor images, int patch)
    {
        long b = images.shape[0], c = images.shape[1], h = images.shape[2] / patch, w = images.shape[3] / patch;
        return images.reshape(b, c, h, patch, w, patch).permute(0, 2, 4, 3, 5, 1).reshape(b, h * w, patch * patch * c);
    }

    /// <summary>[B, (H/P)·(W/P), P·P·bands] → [B, bands, H, W] for a square grid.</summary>
    public static Tensor Unpatchify(Tensor tokens, int patch, int bands)
    {
        long b = tokens.shape[0];
        int grid = (int)Math.Round(Math.Sqrt(tokens.shape[1]));
        return tokens.reshape(b, grid, grid, patch, patch, bands).permute(0, 5, 1, 3, 2, 4).reshape(b, bands, grid * patch, grid * patch);
    }
}
