using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>What the hand-written CPU autograd nodes (<see cref="PixelLoss"/>, <see cref="SimplexProjection"/>) share: raw addresses and a blocked parallel loop.</summary>
static class CpuKernels
{
    /// <summary>
    /// The address of a contiguous CPU tensor's first element (its storage offset included); 0 for none or an empty one.
    /// Taken through a one-element view because <c>Tensor.bytes</c> spans the whole tensor and cannot pass 2 GB.
    /// </summary>
    public static unsafe nint Address(Tensor? tensor)
    {
        if (tensor is null || tensor.numel() == 0) return 0;
        using var first = tensor.view(-1).narrow(0, 0, 1);
        fixed (byte* p = first.bytes) return (nint)p;
    }

    /// <summary>Runs <paramref name="body"/> for every pixel, in contiguous blocks over libtorch's intra-op thread count.</summary>
    public static void ForEachPixel(long pixels, Action<long> body)
    {
        int threads = Math.Max(1, get_num_threads());
        long block = Math.Max(256, (pixels + threads * 4 - 1) / (threads * 4));
        long blocks = (pixels + block - 1) / block;
        Parallel.For(0L, blocks, new ParallelOptions { MaxDegreeOfParallelism = threads }, b =>
        {
            for (long pixel = b * block, end = Math.Min(pixels, pixel + block); pixel < end; pixel++) body(pixel);
        });
    }
}
