using Karma.Model;

namespace Karma.Training;

/// <summary>One trained model of a comparison: its name, configuration and held-out result.</summary>
public sealed record ComparisonEntry(string Name, KarmaConfig Config, RunResult Result, double Seconds);
