namespace Karma.Evaluation;

/// <summary>
/// The receiver operating characteristic of a detector's scores against binary truth: the area under the curve (the
/// probability that a random positive scores above a random negative, ties counting half: scikit-learn's
/// <c>roc_auc_score</c>) and the curve's points for plotting.
/// </summary>
public static class RocCurve
{
    /// <summary>
    /// The ROC AUC of <paramref name="scores"/> for <paramref name="positive"/> labels, from average ranks (Mann–Whitney U).
    /// Non-finite scores are left out with their labels. Throws when either class is empty.
    /// </summary>
    public static double Auc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count) throw new ArgumentException($"{scores.Count} scores for {positive.Count} labels");
        var items = Enumerable.Range(0, scores.Count).Where(i => double.IsFinite(scores[i])).OrderBy(i => scores[i]).ToArray();
        long positives = items.LongCount(i => positive[i]), negatives = items.Length - positives;
        if (positives == 0 || negatives == 0) throw new InvalidSettingException("ROC AUC needs both anomalous and normal pixels in the truth map.");
        double rankSum = 0;
        for (int start = 0; start < items.Length;)
        {
            int end = start;
            while (end + 1 < items.Length && scores[items[end + 1]] == scores[items[start]]) end++;
            double rank = (start + end) / 2.0 + 1;   // 1-based average rank of the tied run
            for (int k = start; k <= end; k++) if (positive[items[k]]) rankSum += rank;
            start = end + 1;
        }
        return (rankSum - positives * (positives + 1) / 2.0) / (positives * (double)negatives);
    }

    /// <summary>The curve's (false positive rate, true positive rate) points, one per distinct score from the highest down.</summary>
    public static (double[] FalsePositiveRate, double[] TruePositiveRate) Points(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        var items = Enumerable.Range(0, scores.Count).Where(i => double.IsFinite(scores[i])).OrderByDescending(i => scores[i]).ToArray();
        double positives = items.Count(i => positive[i]), negatives = items.Length - positives;
        var fpr = new List<double> { 0 };
        var tpr = new List<double> { 0 };
        double tp = 0, fp = 0;
        for (int k = 0; k < items.Length; k++)
        {
            if (positive[items[k]]) tp++; else fp++;
            if (k + 1 < items.Length && scores[items[k + 1]] == scores[items[k]]) continue;
            fpr.Add(negatives > 0 ? fp / negatives : 0);
            tpr.Add(positives > 0 ? tp / positives : 0);
        }
        return (fpr.ToArray(), tpr.ToArray());
    }
}
