namespace Karma.Evaluation;

/// <summary>Precision, recall and F1 of one class.</summary>
public sealed record ClassScores(int Label, long Support, double Precision, double Recall, double F1, double IoU);

/// <summary>
/// Classification quality as remote-sensing papers report it, from the confusion matrix C[true, predicted]:
/// overall accuracy (trace / total), average accuracy (mean per-class recall over classes present in the truth),
/// Cohen's κ ((p_o − p_e) / (1 − p_e)), and mean IoU (mean over classes present in the truth of
/// C[k,k] / (row k + column k − C[k,k])). Agrees with scikit-learn on the reference values.
/// </summary>
public sealed record ClassificationMetrics(double Oa, double Aa, double Kappa, double Miou, int[] Labels, long[,] Confusion, ClassScores[] PerClass)
{
    /// <summary>Metrics for predictions <paramref name="predicted"/> of labels <paramref name="truth"/>.</summary>
    public static ClassificationMetrics Compute(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted)
    {
        if (truth.Length != predicted.Length || truth.Length == 0) throw new ArgumentException("truth and predictions must be non-empty and of equal length");
        var labels = truth.ToArray().Concat(predicted.ToArray()).Distinct().Order().ToArray();
        var index = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
        int k = labels.Length;
        var c = new long[k, k];
        for (int i = 0; i < truth.Length; i++) c[index[truth[i]], index[predicted[i]]]++;
        double n = truth.Length;
        var row = Enumerable.Range(0, k).Select(i => Enumerable.Range(0, k).Sum(j => (double)c[i, j])).ToArray();
        var col = Enumerable.Range(0, k).Select(j => Enumerable.Range(0, k).Sum(i => (double)c[i, j])).ToArray();
        double diagonal = Enumerable.Range(0, k).Sum(i => (double)c[i, i]);
        double oa = diagonal / n, pe = Enumerable.Range(0, k).Sum(i => row[i] * col[i]) / (n * n);
        var scores = Enumerable.Range(0, k).Select(i =>
        {
            double precision = col[i] > 0 ? c[i, i] / col[i] : 0, recall = row[i] > 0 ? c[i, i] / row[i] : 0;
            double union = row[i] + col[i] - c[i, i];
            return new ClassScores(labels[i], (long)row[i], precision, recall,
                                   precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0, union > 0 ? c[i, i] / union : 0);
        }).ToArray();
        var present = scores.Where(s => s.Support > 0).ToArray();
        return new ClassificationMetrics(oa, present.Average(s => s.Recall), pe < 1 ? (oa - pe) / (1 - pe) : 1, present.Average(s => s.IoU), labels, c, scores);
    }
}
