namespace Karma;

/// <summary>
/// Derives independent, reproducible seeds from (seed, index, stream) with SplitMix64. Unlike
/// <see cref="HashCode"/>, which is randomised per process, the result is the same in every run, which is
/// what lets a resumed run draw the same tiles, flips and masks as an uninterrupted one.
/// </summary>
public static class Seeds
{
    /// <summary>A non-negative seed for <paramref name="stream"/> (what is drawn) at <paramref name="index"/> (step or epoch).</summary>
    public static int Derive(int seed, long index, int stream)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index * 0xBF58476D1CE4E5B9UL + (ulong)stream * 0x94D049BB133111EBUL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
