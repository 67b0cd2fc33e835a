using System.Diagnostics;
using Karma.Data;
using Karma.Evaluation;
using Karma.Model;

namespace Karma.Anomaly;

/// <summary>Anomaly detectors Karma runs.</summary>
public enum AnomalyMethod
{
    /// <summary>What the model cannot explain: global plus local RX of its physics residual (<see cref="ContextDetector"/>).</summary>
    Karma,
    /// <summary>Global RX (<see cref="RxDetector.Global"/>).</summary>
    Rx,
    /// <summary>Dual-window local RX (<see cref="RxDetector.Local"/>).</summary>
    LocalRx,
}

/// <summary>One detector's scores over a scene [row·col] (NaN where invalid), the seconds it took and, with truth, its ROC AUC.</summary>
public sealed record AnomalyMap(string Name, float[] Scores, double Seconds, double? Auc = null);

/// <summary>Settings of the detectors: local RX's windows and principal components, and whether the karma method also computes its context residual.</summary>
/// <param name="InnerWindow">Local RX's guard window (odd).</param>
/// <param name="OuterWindow">Local RX's outer window (odd, larger).</param>
/// <param name="Components">Principal components local RX works in.</param>
/// <param name="Context">Also predict every pixel from its context (four masked passes, <c>karma-context</c>); the karma score of a model with the physics branch does not use it, so leaving it out halves detection time (6.0 → 2.9 s on a 90×90 scene with the default model).</param>
public sealed record AnomalyOptions(int InnerWindow = 5, int OuterWindow = 15, int Components = 20, bool Context = true)
{
    /// <summary>Refuses windows local RX cannot use (odd sizes, inner &lt; outer) and fewer than one component, before any work starts.</summary>
    public void Validate()
    {
        if (InnerWindow < 1 || OuterWindow <= InnerWindow || InnerWindow % 2 == 0 || OuterWindow % 2 == 0)
            throw new InvalidSettingException($"Local RX windows must be odd with inner < outer (got {InnerWindow} and {OuterWindow}).") { Settings = ["Window"] };
        if (Components < 1) throw new InvalidSettingException($"Local RX needs at least one principal component (got {Components}).") { Settings = ["Components"] };
    }
}

/// <summary>
/// Runs the chosen detectors on one scene and, given a truth map (non-zero = anomalous), scores each by ROC AUC. The
/// <c>karma</c> method adds its parts (<c>karma-physics</c>, <c>karma-physics-local</c>) and global RX of the context
/// residual (<c>karma-context</c>), so a reader sees which view carries the detection.
/// </summary>
public static class AnomalyDetection
{
    /// <summary>Parses "karma", "rx", "local-rx" or "all" (every method the inputs allow).</summary>
    public static AnomalyMethod[] ParseMethods(string text, bool haveModel) => text.ToLowerInvariant() switch
    {
        "all" => haveModel ? [AnomalyMethod.Karma, AnomalyMethod.Rx, AnomalyMethod.LocalRx] : [AnomalyMethod.Rx, AnomalyMethod.LocalRx],
        _ => text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(m => m.ToLowerInvariant() switch
        {
            "karma" => AnomalyMethod.Karma,
            "rx" => AnomalyMethod.Rx,
            "local-rx" => AnomalyMethod.LocalRx,
            _ => throw new InvalidSettingException($"Unknown anomaly method '{m}'. Choose karma, rx, local-rx or all."),
        }).Distinct().ToArray(),
    };

    /// <summary>The maps of <paramref name="methods"/> on <paramref name="cube"/>; the karma method needs <paramref name="model"/> (and a cube read for it).</summary>
    public static IReadOnlyList<AnomalyMap> Detect(ReflectanceCube cube, IReadOnlyList<AnomalyMethod> methods, KarmaModel? model = null, ReflectanceCube? modelCube = null,
                                                   AnomalyOptions? options = null)
    {
        options ??= new AnomalyOptions();
        var maps = new List<AnomalyMap>();
        foreach (var method in methods)
        {
            var clock = Stopwatch.StartNew();
            switch (method)
            {
                case AnomalyMethod.Karma:
                    var scores = ContextDetector.Score(model ?? throw new InvalidSettingException("The karma anomaly method needs a model checkpoint.") { Settings = ["Checkpoint"] }, modelCube ?? cube, options);
                    double seconds = clock.Elapsed.TotalSeconds;
                    maps.Add(new AnomalyMap("karma", scores.Karma, seconds));
                    if (scores.Context is { } context) maps.Add(new AnomalyMap("karma-context", context, seconds));
                    if (scores.Physics is { } physics) maps.Add(new AnomalyMap("karma-physics", physics, seconds));
                    if (scores.PhysicsLocal is { } local) maps.Add(new AnomalyMap("karma-physics-local", local, seconds));
                    break;
                case AnomalyMethod.Rx:
                    maps.Add(new AnomalyMap("rx", RxDetector.Global(cube), clock.Elapsed.TotalSeconds));
                    break;
                case AnomalyMethod.LocalRx:
                    maps.Add(new AnomalyMap("local-rx", RxDetector.Local(cube, options.InnerWindow, options.OuterWindow, options.Components), clock.Elapsed.TotalSeconds));
                    break;
            }
        }
        return maps;
    }

    /// <summary>Each map with its ROC AUC against <paramref name="truth"/> ([row·col], non-zero = anomalous).</summary>
    public static IReadOnlyList<AnomalyMap> Score(IReadOnlyList<AnomalyMap> maps, int[] truth)
    {
        var positive = truth.Select(v => v != 0).ToArray();
        return maps.Select(m => m with { Auc = RocCurve.Auc(m.Scores.Select(v => (double)v).ToArray(), positive) }).ToList();
    }
}
