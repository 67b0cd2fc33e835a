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
    /// Runs <paramref name="body"/>(block, from, to) over contiguous blocks of <paramref name="items"/> (about four per
    /// thread, each at least <paramref name="minimum"/> items), in parallel over libtorch's intra-op thread count. For work
    /// whose result does not depend on where the blocks end; partial sums go through <see cref="ForEachFixedBlock"/>.
    /// </summary>
    public static void ForEachBlock(long items, long minimum, Action<int, long, long> body)
    {
        long block = Math.Max(minimum, (items + Threads * 4 - 1) / (Threads * 4));
        Run(items, block, body);
    }

    /// <summary>How many blocks <see cref="ForEachFixedBlock"/> cuts <paramref name="items"/> into, for per-block partial sums.</summary>
    public static int FixedBlocks(long items, long size) => (int)((items + size - 1) / size);

    /// <summary>
    /// Runs <paramref name="body"/>(block, from, to) over blocks of exactly <paramref name="size"/> items (the last one
    /// shorter), in parallel. The blocks do not depend on the thread count, so partial sums added up in block order round
    /// the same on any machine: data-parallel ranks with different thread counts clip and step alike.
    /// </summary>
    public static void ForEachFixedBlock(long items, long size, Action<int, long, long> body) => Run(items, size, body);

    static void Run(long items, long block, Action<int, long, long> body) =>
        Parallel.For(0, (int)((items + block - 1) / block), new ParallelOptions { MaxDegreeOfParallelism = Threads }, b =>
            body(b, b * block, Math.Min(items, (b + 1) * block)));

    static int Threads => Math.Max(1, get_num_threads());
}
