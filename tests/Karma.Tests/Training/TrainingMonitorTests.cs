using Karma.Training;

namespace Karma.Tests.Training;

public class TrainingMonitorTests
{
    /// <summary>
    /// A log of <paramref name="steps"/> steps whose Huber loss falls tenfold, with the physics branch's numbers on every
    /// <paramref name="every"/>-th step only (as --physics-every logs them): physics stuck at the first Huber loss or falling with
    /// it, abundance spread <paramref name="spread"/>.
    /// </summary>
    static List<StepRecord> Log(int steps, int every, bool physicsStuck, double spread) => Enumerable.Range(0, steps).Select(i =>
    {
        double huber = 0.1 * Math.Pow(0.1, i / (double)(steps - 1));
        bool branch = i % every == 0;
        double physics = physicsStuck ? 0.1 : 3 * huber;
        return new StepRecord(i, 0, huber, huber, 1.0 - 0.5 * i / steps, branch ? physics : null, 1e-3, 1, 10,
                              branch ? spread : null, branch ? 0.5 : null);
    }).ToList();

    [Theory]
    [InlineData(1)]
    [InlineData(25)]   // the branch on one step of 25: the last tenth of the log holds no step of it
    public void Stuck_physics_and_collapsed_abundances_are_seen_whichever_steps_ran_the_branch(int every)
    {
        var warnings = TrainingMonitor.Check(Log(100, every, physicsStuck: true, spread: 0.01));
        Assert.Contains(warnings, w => w.StartsWith("Abundance collapse", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.StartsWith("The physics-consistency loss is stuck", StringComparison.Ordinal));
        Assert.Empty(TrainingMonitor.Check(Log(100, every, physicsStuck: false, spread: 0.2)));
    }
}
