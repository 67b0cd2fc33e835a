using Karma.Training;
using Spectre.Console;

namespace Karma.Cli;

/// <summary>
/// Shows training progress: a live bar with loss terms, learning rate, tiles/s and ETA in a terminal, or
/// a plain line every few steps when output is redirected (Spectre prints nothing for bars then).
/// </summary>
static class TrainingProgress
{
    public static T Run<T>(string label, int steps, Func<Action<StepRecord>, T> train)
    {
        if (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            T result = default!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(label), maxValue: steps);
                    result = train(r =>
                    {
                        task.Description = Markup.Escape($"{label} {Describe(r)}");
                        task.Value = r.Step + 1;
                    });
                });
            return result;
        }
        int every = Math.Max(1, steps / 10);
        var started = DateTime.UtcNow;
        return train(r =>
        {
            if (r.Step % every != 0 && r.Step != steps - 1) return;
            double elapsed = (DateTime.UtcNow - started).TotalSeconds;
            double eta = elapsed / (r.Step + 1) * (steps - r.Step - 1);
            Console.Out.WriteLine($"{label} step {r.Step + 1}/{steps} {Describe(r)} eta {eta:F0}s");
        });
    }

    static string Describe(StepRecord r) =>
        $"loss {r.Loss:F4} huber {r.Huber:F4}" + (r.Sam is { } s ? $" sam {s:F3}" : "") + (r.Physics is { } p ? $" phys {p:F4}" : "") +
        $" lr {r.LearningRate:E1} {r.TilesPerSecond:F1} tiles/s";
}
