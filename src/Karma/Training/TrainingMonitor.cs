namespace Karma.Training;

/// <summary>
/// Looks at a training log for the failure signatures the KARMA paper describes and explains each with a
/// suggestion: abundance collapse (every patch gets the same mixture, so the physics branch explains
/// nothing), the spectral angle not improving while the Huber loss does (shapes of spectra not learned),
/// and the physics-consistency loss stuck high (the endmembers cannot span the data).
/// </summary>
public static class TrainingMonitor
{
    /// <summary>Abundance standard deviation across pixels below which abundances count as collapsed.</summary>
    public const double CollapseSpread = 0.02;

    /// <summary>Warnings for <paramref name="log"/>; empty when training looks healthy (or the log is too short to tell).</summary>
    public static IReadOnlyList<string> Check(IReadOnlyList<StepRecord> log)
    {
        var warnings = new List<string>();
        if (log.Count < 20) return warnings;
        int window = Math.Max(5, log.Count / 10);
        var first = log.Take(window).ToList();
        var last = log.TakeLast(window).ToList();
        double Mean(IEnumerable<StepRecord> records, Func<StepRecord, double?> f) => records.Select(f).OfType<double>().DefaultIfEmpty(double.NaN).Average();
        // The physics branch's numbers come from the steps that ran it (every one, or every k-th with PhysicsEvery = k),
        // each window the same share of those steps, so a k larger than the window cannot leave it empty.
        var branchSteps = log.Where(r => r.Physics is not null).ToList();
        int branchWindow = Math.Max(1, branchSteps.Count / 10);
        var firstBranch = branchSteps.Take(branchWindow).ToList();
        var lastBranch = branchSteps.TakeLast(branchWindow).ToList();

        double spread = Mean(lastBranch, r => r.AbundanceSpread), entropy = Mean(lastBranch, r => r.AbundanceEntropy);
        if (spread < CollapseSpread)
            warnings.Add($"Abundance collapse: abundances vary by only {spread:F3} (std across pixels) with normalised entropy {entropy:F2}, " +
                         "so every pixel gets nearly the same mixture. Try fewer endmembers, a larger physics weight, " +
                         "or initialising the endmembers from the data (VCA).");

        double huberDrop = 1 - Mean(last, r => r.Huber) / Mean(first, r => r.Huber);
        double samDrop = 1 - Mean(last, r => r.Sam) / Mean(first, r => r.Sam);
        if (huberDrop > 0.2 && samDrop < 0.05)
            warnings.Add($"The spectral angle is not falling ({samDrop:P0}) while the Huber loss is ({huberDrop:P0}): brightness is learned but spectral shape is not. " +
                         "Raise the SAM weight or train longer.");

        double physicsDrop = 1 - Mean(lastBranch, r => r.Physics) / Mean(firstBranch, r => r.Physics);
        double physicsRatio = Mean(lastBranch, r => r.Physics) / Mean(lastBranch, r => r.Huber);
        if (physicsDrop < 0.1 && physicsRatio > 2)
            warnings.Add($"The physics-consistency loss is stuck ({physicsDrop:P0} lower than at the start, {physicsRatio:F1}× the Huber loss): " +
                         "the endmembers cannot reproduce the spectra. Use more endmembers or let them be learned.");
        return warnings;
    }
}
