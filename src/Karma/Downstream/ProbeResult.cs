using Karma.Evaluation;

namespace Karma.Downstream;

/// <summary>What a probe experiment found: the split, the labels laid end to end, each method's prediction for every pixel and its test metrics.</summary>
public sealed record ProbeResult(LabelSplit Split, int[] Labels, IReadOnlyDictionary<string, int[]> Predictions, IReadOnlyDictionary<string, ClassificationMetrics> Metrics);
