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
    public static void ForEachPixel(long pixels, Action<long> body) =>
        ForEachBlock(pixels, 256, (_, from, to) => { for (long pixel = from; pixel < to; pixel++) body(pixel); });

    /// <summary>
    /// How many blocks <see cref="ForEachBlock"/> cuts <paramref name="items"/> into (about four per thread, each at least
    /// <paramref name="minimum"/> items), so that a caller can give every block its own partial sums.
    /// </summary>
    public static int Blocks(long items, long minimum) => (int)((items + BlockSize(items, minimum) - 1) / BlockSize(items, minimum));

    /// <summary>Runs <paramref name="body"/>(block, from, to) over contiguous blocks of <paramref name="items"/>, in parallel over libtorch's intra-op thread count.</summary>
    public static void ForEachBlock(long items, long minimum, Action<int, long, long> body)
    {
        long block = BlockSize(items, minimum);
        Parallel.For(0, Blocks(items, minimum), new ParallelOptions { MaxDegreeOfParallelism = Threads }, b =>
            body(b, b * block, Math.Min(items, (b + 1) * block)));
    }

    static int Threads => Math.Max(1, get_num_threads());

    static long BlockSize(long items, long minimum) => Math.Max(minimum, (items + Threads * 4 - 1) / (Threads * 4));
}
