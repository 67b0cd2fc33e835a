namespace Karma.Training;

/// <summary>One line of the training log (JSONL): the step's loss terms, learning rate, gradient norm and speed.</summary>
public sealed record StepRecord(int Step, int Epoch, double Loss, double Huber, double? Sam, double? Physics, double LearningRate, double GradNorm, double TilesPerSecond);
