namespace Karma.Training;

/// <summary>
/// How a model is pretrained: AdamW with linear warm-up then cosine decay, gradient clipping and a seed
/// that fixes weights, data order and masks. Defaults suit the CPU presets' short budgets; the paper's
/// setting is <see cref="LearningRate"/> = 1e-4.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Optimiser steps.</summary>
    public int Steps { get; init; } = 200;
    /// <summary>Tiles per step.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Final learning rate as a fraction of the peak.</summary>
    public double MinLearningRateFraction { get; init; } = 0.01;
    /// <summary>AdamW weight decay.</summary>
    public double WeightDecay { get; init; } = 0.05;
    /// <summary>Warm-up steps as a fraction of <see cref="Steps"/>.</summary>
    public double WarmupFraction { get; init; } = 0.05;
    /// <summary>Gradient-norm clipping threshold.</summary>
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>Random seed for weights, data order, augmentation and masks.</summary>
    public int Seed { get; init; } = 0;
    /// <summary>Turn each training tile by a random flip/rotation of the square (spectra untouched). Default true.</summary>
    public bool Augment { get; init; } = true;
    /// <summary>Write a resumable checkpoint every this many steps (0: only at the end).</summary>
    public int CheckpointEvery { get; init; } = 100;
    /// <summary>Refuse to start when <see cref="Model.MemoryEstimate"/> says a step will not fit in the available memory.</summary>
    public bool CheckMemory { get; init; } = true;

    /// <summary>Learning rate at <paramref name="step"/> (0-based): linear warm-up, then cosine decay to the minimum.</summary>
    public double LearningRateAt(int step)
    {
        int warmup = Math.Max(1, (int)Math.Round(WarmupFraction * Steps));
        if (step < warmup) return LearningRate * (step + 1) / warmup;
        double progress = (step - warmup) / (double)Math.Max(1, Steps - warmup);
        double floor = LearningRate * MinLearningRateFraction;
        return floor + 0.5 * (LearningRate - floor) * (1 + Math.Cos(Math.PI * Math.Min(1, progress)));
    }
}
