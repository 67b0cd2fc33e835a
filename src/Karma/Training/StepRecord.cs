namespace Karma.Training;

/// <summary>
/// One line of the training log (JSONL): the step's loss terms, learning rate, gradient norm and speed, and
/// for models with the physics branch the abundances' spread and normalised entropy (collapse diagnostics); for a
/// data-parallel run the seconds the step spent summing gradients across ranks.
/// </summary>
public sealed record StepRecord(int Step, int Epoch, double Loss, double Huber, double? Sam, double? Physics, double LearningRate,
                                double GradNorm, double TilesPerSecond, double? AbundanceSpread = null, double? AbundanceEntropy = null,
                                double? AllReduceSeconds = null);
