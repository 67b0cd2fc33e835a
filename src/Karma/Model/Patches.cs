using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// Cuts image tiles into patch tokens and back. A token holds its patch's pixels in row-major order, each
/// pixel's full spectrum contiguous: [P·P, bands], so per-pixel spectra are a reshape away.
/// <para>
/// Cutting is a transpose (bands move from the slowest axis to the fastest), which libtorch's strided copy does at
/// about a third of a plain copy's speed. The encoder's input needs less than that: the standardised spectra of the
/// visible quarter of the patches. <see cref="Tokens"/> cuts those alone, standardising on the way, in one pass of a C#
/// kernel that transposes 8×8 blocks in registers (float32 CPU tiles that need no gradient, patches a multiple of 8
/// pixels wide, AVX); that took 3–5 ms for the small preset's batch against 16–28 ms for standardising, cutting every
/// patch and then taking the visible ones. Everything else goes through tensor operations with the same result (tested).
/// Cutting every patch as it is (the training targets) stays with libtorch (<see cref="Patchify"/>), which measured faster
/// than this kernel for that.
/// </para>
/// </summary>
public static class Patches
{
    /// <summary>[B, bands, H, W] → [B, (H/P)·(W/P), P·P·bands], through libtorch's strided copy (every device, type and gradient).</summary>
    public static Tensor Patchify(Tensor images, int patch)
    {
        long b = images.shape[0], c = images.shape[1], h = images.shape[2] / patch, w = images.shape[3] / patch;
        return images.reshape(b, c, h, patch, w, patch).permute(0, 2, 4, 3, 5, 1).reshape(b, h * w, patch * patch * c);
    }

    /// <summary>
    /// Tokens [B, K, P·P·bands] of square tiles [B, bands, T, T]: every patch in order, or each tile's own patches
    /// <paramref name="indices"/> ([B, K], as <see cref="TokenMasking.Take"/> takes them); with <paramref name="mean"/> and
    /// <paramref name="std"/> ([bands] each) every value standardised as (x − mean) / std on the way.
    /// </summary>
    public static Tensor Tokens(Tensor images, int patch, Tensor? indices = null, Tensor? mean = null, Tensor? std = null)
    {
        if ((mean is null) != (std is null)) throw new ArgumentException("Standardising needs both the mean and the standard deviation.");
        if (images.dim() != 4) throw new ArgumentException($"Tiles must be [batch, bands, T, T]; got [{string.Join(", ", images.shape)}].", nameof(images));
        long patches = images.shape[2] / patch * (images.shape[3] / patch);
        using var lowest = indices?.numel() > 0 ? indices.min().to_type(ScalarType.Int64) : null;
        using var highest = indices?.numel() > 0 ? indices.max().to_type(ScalarType.Int64) : null;
        if (lowest is not null && (lowest.item<long>() < 0 || highest!.item<long>() >= patches))
            throw new ArgumentOutOfRangeException(nameof(indices), $"Token indices must lie in 0–{patches - 1}, the tiles' patches.");
        bool kernel = Avx.IsSupported && patch % 8 == 0
            && images.device_type == TorchSharp.DeviceType.CPU && images.dtype == ScalarType.Float32 && images.is_contiguous()
            && !images.requires_grad && images.dim() == 4 && images.shape[2] == images.shape[3] && images.shape[2] % patch == 0
            && (mean is null || (!mean.requires_grad && !std!.requires_grad && mean.numel() == images.shape[1] && std.numel() == images.shape[1]))
            && (indices is null || (indices.dim() == 2 && indices.shape[0] == images.shape[0]));
        if (!kernel)
        {
            using var scope = NewDisposeScope();
            var values = mean is null ? images : (images - mean.view(1, -1, 1, 1)) / std!.view(1, -1, 1, 1);
            var all = Patchify(values, patch);
            return (indices is null ? all : TokenMasking.Take(all, indices)).MoveToOuterDisposeScope();
        }
        return Cut(images, patch, indices, mean, std);
    }

    static unsafe Tensor Cut(Tensor images, int patch, Tensor? indices, Tensor? mean, Tensor? std)
    {
        int b = (int)images.shape[0], c = (int)images.shape[1], t = (int)images.shape[2], grid = t / patch, n = grid * grid;
        long[]? chosen = null;
        if (indices is not null)
        {
            using var flat = indices.to_type(ScalarType.Int64).cpu().contiguous();
            chosen = flat.data<long>().ToArray();
        }
        int k = chosen is null ? n : (int)indices!.shape[1];
        float[]? means = null, stds = null;
        if (mean is not null)
        {
            using var m = mean.to_type(ScalarType.Float32).cpu().contiguous();
            using var s = std!.to_type(ScalarType.Float32).cpu().contiguous();
            (means, stds) = (m.data<float>().ToArray(), s.data<float>().ToArray());
        }
        var tokens = empty(b, k, (long)patch * patch * c, dtype: ScalarType.Float32);
        nint source = CpuKernels.Address(images), target = CpuKernels.Address(tokens);
        CpuKernels.ForEachBlock((long)b * k, 4, (_, from, to) =>
        {
            for (long token = from; token < to; token++)
            {
                long tile = token / k, patchIndex = chosen?[token] ?? token % k;
                long top = patchIndex / grid * patch, left = patchIndex % grid * patch;
                CutOne((float*)source + tile * c * t * t, (float*)target + token * patch * patch * c, top, left, patch, c, t, means, stds);
            }
        });
        return tokens;
    }

    /// <summary>
    /// One patch (P a multiple of 8): blocks of 8 bands × 8 pixels of a pixel row are loaded as 8 vectors (one band each),
    /// standardised band by band, transposed in registers and stored as 8 vectors (one pixel each, 8 bands). Bands are the
    /// outer loop, so the 8 band planes a block reads stay in the cache for all P pixel rows; the last bands (fewer than 8)
    /// are copied one by one.
    /// </summary>
    static unsafe void CutOne(float* tile, float* token, long top, long left, int patch, int c, int t, float[]? means, float[]? stds)
    {
        long plane = (long)t * t;
        int full = c / 8 * 8;
        var rows = stackalloc Vector256<float>[8];
        for (int first = 0; first < full; first += 8)
            for (int py = 0; py < patch; py++)
                for (int half = 0; half < patch; half += 8)
                {
                    float* from = tile + (top + py) * t + left + half + first * plane;
                    for (int k = 0; k < 8; k++)
                    {
                        var v = Avx.LoadVector256(from + k * plane);
                        if (means is not null) v = Avx.Divide(Avx.Subtract(v, Vector256.Create(means[first + k])), Vector256.Create(stds![first + k]));
                        rows[k] = v;
                    }
                    Transpose8(rows);
                    float* into = token + ((long)py * patch + half) * c + first;
                    for (int k = 0; k < 8; k++) Avx.Store(into + (long)k * c, rows[k]);
                }
        for (int band = full; band < c; band++)
            for (int py = 0; py < patch; py++)
            {
                float* values = tile + band * plane + (top + py) * t + left, into = token + (long)py * patch * c + band;
                for (int px = 0; px < patch; px++)
                    into[(long)px * c] = means is null ? values[px] : (values[px] - means[band]) / stds![band];
            }
    }

    /// <summary>Transposes an 8×8 block of floats held as 8 row vectors, in place (unpack, shuffle, then swap 128-bit halves).</summary>
    static unsafe void Transpose8(Vector256<float>* r)
    {
        var t0 = Avx.UnpackLow(r[0], r[1]); var t1 = Avx.UnpackHigh(r[0], r[1]);
        var t2 = Avx.UnpackLow(r[2], r[3]); var t3 = Avx.UnpackHigh(r[2], r[3]);
        var t4 = Avx.UnpackLow(r[4], r[5]); var t5 = Avx.UnpackHigh(r[4], r[5]);
        var t6 = Avx.UnpackLow(r[6], r[7]); var t7 = Avx.UnpackHigh(r[6], r[7]);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        r[0] = Avx.Permute2x128(u0, u4, 0x20); r[1] = Avx.Permute2x128(u1, u5, 0x20);
        r[2] = Avx.Permute2x128(u2, u6, 0x20); r[3] = Avx.Permute2x128(u3, u7, 0x20);
        r[4] = Avx.Permute2x128(u0, u4, 0x31); r[5] = Avx.Permute2x128(u1, u5, 0x31);
        r[6] = Avx.Permute2x128(u2, u6, 0x31); r[7] = Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>[B, (H/P)·(W/P), P·P·bands] → [B, bands, H, W] for a square grid.</summary>
    public static Tensor Unpatchify(Tensor tokens, int patch, int bands)
    {
        long b = tokens.shape[0];
        int grid = (int)Math.Round(Math.Sqrt(tokens.shape[1]));
        return tokens.reshape(b, grid, grid, patch, patch, bands).permute(0, 5, 1, 3, 2, 4).reshape(b, bands, grid * patch, grid * patch);
    }
}
