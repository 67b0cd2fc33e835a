using Karma.Data;

namespace Karma.Model;

/// <summary>
/// A fixed description of each band as numbers a network can read, the input of the weight generators
/// (<see cref="BandWeightGenerator"/>): sines and cosines of the centre wavelength at 32 periods spaced
/// geometrically from 10 nm to 4000 nm (so nearby bands get nearby codes at every scale, as positions do in a
/// transformer, and as in DOFA's wavelength embedding), plus log(FWHM / 10 nm) and FWHM / 100 nm, which tell a
/// 3 nm DESIS band from a 15 nm HyMap band at the same centre.
/// </summary>
public static class BandEncoding
{
    /// <summary>Number of periods of the centre's sine–cosine code.</summary>
    public const int Periods = 32;

    /// <summary>Values per band: two per period plus two for the width.</summary>
    public const int Width = 2 * Periods + 2;

    /// <summary>The code of every band of <paramref name="bands"/>, [bands, <see cref="Width"/>] row-major.</summary>
    public static float[] Encode(SpectralBands bands)
    {
        var code = new float[bands.Count * Width];
        for (int c = 0; c < bands.Count; c++)
        {
            var row = code.AsSpan(c * Width, Width);
            double lambda = bands.Centres[c];
            for (int k = 0; k < Periods; k++)
            {
                double period = 10 * Math.Pow(400, k / (double)(Periods - 1));   // 10 … 4000 nm
                row[2 * k] = (float)Math.Sin(2 * Math.PI * lambda / period);
                row[2 * k + 1] = (float)Math.Cos(2 * Math.PI * lambda / period);
            }
            row[^2] = (float)Math.Log(bands.Fwhm[c] / 10);
            row[^1] = (float)(bands.Fwhm[c] / 100);
        }
        return code;
    }
}
