using System.Globalization;

namespace Karma.Evaluation;

/// <summary>A value's mean and sample standard deviation over runs.</summary>
public readonly record struct RunSpread(double Mean, double Std, int Count)
{
    /// <summary>Mean and sample standard deviation (0 for a single run) of the finite values.</summary>
    public static RunSpread Of(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToArray();
        if (v.Length == 0) return new RunSpread(double.NaN, double.NaN, 0);
        double mean = v.Average();
        double std = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
        return new RunSpread(mean, std, v.Length);
    }

    /// <summary>"mean ± std" with <paramref name="format"/>.</summary>
    public string Format(string format) => Count == 0 ? "–" : $"{Mean.ToString(format, CultureInfo.InvariantCulture)} ± {Std.ToString(format, CultureInfo.InvariantCulture)}";

    /// <summary>
    /// A paired difference: the mean with its sign ("+0.13", "−0.13", and "0.00" when it rounds to zero, never "-+0.00")
    /// ± the unsigned spread, both with <paramref name="decimals"/> decimals.
    /// </summary>
    public string FormatDifference(int decimals)
    {
        if (Count == 0) return "–";
        string plain = "0." + new string('0', decimals);
        double mean = Math.Round(Mean, decimals);
        string signed = mean == 0 ? plain : mean.ToString($"+{plain};-{plain}", CultureInfo.InvariantCulture);
        return $"{signed} ± {Std.ToString(plain, CultureInfo.InvariantCulture)}";
    }
}
