using System.Globalization;
using System.Text;
using Karma.Model;

namespace Karma.Bench;

/// <summary>The run's headline numbers as Markdown tables, every ratio taken between results of this one run.</summary>
static class Summary
{
    /// <summary>A signed percentage; a negative value that rounds to zero prints as +0.0 (a two-section format prints "-+0.0").</summary>
    const string Signed = "+0.0;-0.0;+0.0";

    public static string Markdown(IReadOnlyList<BenchResult> results, int threads)
    {
        var byName = results.ToDictionary(r => r.Name);
        var text = new StringBuilder();
        string F(double v, string format = "F1") => v.ToString(format, CultureInfo.InvariantCulture);
        var fp32 = results.First(r => r.Name.StartsWith("matmul_peak_", StringComparison.Ordinal) && r.Name.EndsWith("float32", StringComparison.Ordinal));
        var bf16 = results.FirstOrDefault(r => r.Name.StartsWith("matmul_peak_", StringComparison.Ordinal) && r.Name.EndsWith("bfloat16", StringComparison.Ordinal));
        string bf16Text = bf16 is null ? "bf16 skipped (no native bf16 on this CPU)" : $"bf16 {F(bf16.Metrics["gflops"], "F0")} GFLOP/s";
        text.AppendLine($"Matmul peak ({threads} threads): fp32 {F(fp32.Metrics["gflops"], "F0")} GFLOP/s, {bf16Text} (libtorch {TorchSharp.torch.__version__}).");
        text.AppendLine();
        text.AppendLine("| preset (tile × bands, batch) | mae ms/step | karma ms/step | KARMA overhead | karma GFLOP/s | MFU | PyTorch mae ms | PyTorch karma ms | Karma/PyTorch (karma) | Karma/PyTorch (mae) |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        string? peerNote = null;
        foreach (var mae in results.Where(r => r.Name.StartsWith("train_step_", StringComparison.Ordinal) && r.Name.EndsWith("_mae", StringComparison.Ordinal)))
        {
            string stem = mae.Name[..^"_mae".Length];
            if (!byName.TryGetValue(stem + "_karma", out var karma)) continue;
            byName.TryGetValue("peer_" + mae.Name, out var peerMae);
            byName.TryGetValue("peer_" + karma.Name, out var peerKarma);
            peerNote ??= peerKarma?.Notes is { } n ? $"PyTorch peer: torch {n["torch"]}, BLAS {n["blas"]}, OpenBLAS kernels {n["openblasKernels"]}, attention {n["attention"]}, " +
                                                     $"each peer row run with OMP_WAIT_POLICY=PASSIVE and ACTIVE, the faster kept (named in its cell); its own matmul peak fp32 {F(peerKarma.Metrics["matmulFloat32Gflops"], "F0")} GFLOP/s" +
                                                     (double.IsNaN(peerKarma.Metrics["matmulBfloat16Gflops"]) ? "." : $", bf16 {F(peerKarma.Metrics["matmulBfloat16Gflops"], "F0")}.") : null;
            string Peer(BenchResult? p) => p is null ? "–" : $"{F(p.MedianMs)} ({p.Notes?.GetValueOrDefault("ompWaitPolicy", "?")})";
            string Ratio(BenchResult ours, BenchResult? p) => p is null ? "–" : F(ours.MedianMs / p.MedianMs, "F2") + "×";
            text.AppendLine($"| {stem["train_step_".Length..].Replace('_', ' ')} | {F(mae.MedianMs)} | {F(karma.MedianMs)} | {F(100 * (karma.MedianMs / mae.MedianMs - 1), Signed)}% | " +
                            $"{F(karma.Metrics["gflops"])} | {F(100 * karma.Metrics["mfu"])}% | {Peer(peerMae)} | {Peer(peerKarma)} | {Ratio(karma, peerKarma)} | {Ratio(mae, peerMae)} |");
        }
        if (peerNote is not null) text.AppendLine().AppendLine(peerNote);
        var overheads = results.Where(r => r.Name.StartsWith("overhead_", StringComparison.Ordinal)).ToList();
        if (overheads.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("| KARMA overhead, mae and karma steps alternated | mae ms (median) | karma ms (median) | overhead (ratio of medians) | overhead (median of per-round ratios) | mae ms (lower quartile) | karma ms (lower quartile) | overhead (ratio of lower quartiles) | physics branch FLOPs / mae's (the floor) |");
            text.AppendLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var r in overheads)
                text.AppendLine($"| {r.Name["overhead_train_step_".Length..].Replace('_', ' ')} | {F(r.Metrics["maeMedianMs"])} | {F(r.MedianMs)} | {F(r.Metrics["overheadPercent"], Signed)}% | " +
                                $"{F(r.Metrics["pairedOverheadPercent"], Signed)}% | {F(r.Metrics["maeLowerQuartileMs"])} | {F(r.Metrics["karmaLowerQuartileMs"])} | {F(r.Metrics["lowerQuartileOverheadPercent"], Signed)}% | " +
                                $"{F(r.Metrics["branchFlopPercent"], "F1")}% |");
        }
        text.AppendLine();
        text.AppendLine("| inference (untrained weights, nothing masked) | pixels/s |");
        text.AppendLine("|---|---|");
        foreach (var r in results.Where(r => r.Metrics.ContainsKey("pixelsPerSecond")))
            text.AppendLine($"| {r.Name.Replace('_', ' ')} | {F(r.Metrics["pixelsPerSecond"], "N0")} |");
        text.AppendLine();
        text.AppendLine("| read (page cache warm, whole file) | Karma MB/s | raw sequential MB/s | Karma / raw | peer | peer MB/s | Karma time / peer time |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var ours in results.Where(r => r.Name.StartsWith("read_karma_", StringComparison.Ordinal)))
        {
            string stem = ours.Name["read_karma_".Length..];
            if (!byName.TryGetValue("read_raw_" + stem, out var raw)) continue;
            var peer = results.FirstOrDefault(r => r.Name is var n && (n == "read_gdal_" + stem || n == "read_h5py_" + stem));
            string peerText = peer is null ? "– | – | –"
                : $"{peer.Notes!["library"]} ({peer.Notes["setting"]}) | {F(peer.Metrics["megabytesPerSecond"], "F0")} | {F(ours.MedianMs / peer.MedianMs, "F2")}×";
            text.AppendLine($"| {stem} ({F(ours.Metrics["fileMegabytes"], "F0")} MB) | {F(ours.Metrics["megabytesPerSecond"], "F0")} | {F(raw.Metrics["megabytesPerSecond"], "F0")} | " +
                            $"{F(ours.Metrics["megabytesPerSecond"] / raw.Metrics["megabytesPerSecond"], "F2")} | {peerText} |");
        }
        text.AppendLine();
        text.AppendLine("| memory (fresh process) | scene MB | peak RSS MiB (incl. mapped file pages) | peak anonymous MiB | runtime baseline MiB | MB/s | tiles kept |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in results.Where(r => r.Name.StartsWith("memory_", StringComparison.Ordinal)))
            text.AppendLine($"| {r.Name.Split('_')[1]} | {F(r.Metrics["sceneMegabytes"], "F0")} | {F(r.Metrics["peakRssMiB"], "F0")} | {F(r.Metrics["peakAnonymousMiB"], "F0")} | {F(r.Metrics["baselineRssMiB"], "F0")} | {F(r.Metrics["megabytesPerSecond"], "F0")} | {F(r.Metrics["tiles"], "F0")} |");
        return text.ToString();
    }
}
