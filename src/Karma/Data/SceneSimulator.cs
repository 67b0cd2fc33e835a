using System.Globalization;
using System.Text;

namespace Karma.Data;

/// <summary>
/// Simulates a hyperspectral scene by linear spectral mixing, Karma's embedded default data: smooth,
/// physically plausible endmember spectra (vegetation, soil, water, built-up, mineral, and smooth random
/// variants beyond five) on a 400–2500 nm grid; spatially smooth abundances (a softmax of smooth random
/// fields, so they are ≥ 0, sum to one and include near-pure regions); and white noise at a given SNR.
/// The ground truth comes with it, so unmixing and reconstruction can be scored exactly.
/// </summary>
public sealed class SceneSimulator
{
    /// <summary>Side of the square scene in pixels.</summary>
    public int Size { get; init; } = 128;
    /// <summary>Number of bands between 400 and 2500 nm.</summary>
    public int Bands { get; init; } = 218;
    /// <summary>Number of endmembers.</summary>
    public int Endmembers { get; init; } = 5;
    /// <summary>Signal-to-noise ratio in dB (mean signal power over noise power).</summary>
    public double SnrDb { get; init; } = 40;
    /// <summary>Random seed; the same seed gives the same scene.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>A simulated scene and its ground truth.</summary>
    public sealed record Scene(int Size, double[] Wavelengths, float[] Cube, float[] EndmemberSpectra, float[] Abundances, int Endmembers)
    {
        /// <summary>Bands.</summary>
        public int Bands => Wavelengths.Length;

        /// <summary>Writes <c>scene.hdr/.img</c>, <c>abundances.hdr/.img</c> (one band per endmember) and <c>endmembers.csv</c> to <paramref name="directory"/>; returns the scene header path.</summary>
        public string WriteTo(string directory)
        {
            Directory.CreateDirectory(directory);
            var meta = new SceneMetadata { Wavelengths = Wavelengths, Fwhm = Wavelengths.Select(_ => 2100.0 / Bands).ToArray(), ReflectanceScale = 1 };
            EnviWriter.Write(Path.Combine(directory, "scene.img"), Size, Size, Bands, Cube, meta);
            EnviWriter.Write(Path.Combine(directory, "abundances.img"), Size, Size, Endmembers, Abundances,
                new SceneMetadata { BandNames = Enumerable.Range(1, Endmembers).Select(i => $"endmember {i}").ToArray() });
            var csv = new StringBuilder("wavelength_nm," + string.Join(",", Enumerable.Range(1, Endmembers).Select(i => $"endmember_{i}")) + "\n");
            for (int b = 0; b < Bands; b++)
                csv.Append(Wavelengths[b].ToString("F2", CultureInfo.InvariantCulture)).Append(',')
                   .AppendJoin(',', Enumerable.Range(0, Endmembers).Select(m => EndmemberSpectra[b * Endmembers + m].ToString("R", CultureInfo.InvariantCulture))).Append('\n');
            AtomicFiles.WriteText(Path.Combine(directory, "endmembers.csv"), csv.ToString());
            return Path.Combine(directory, "scene.hdr");
        }
    }

    /// <summary>Generates the scene.</summary>
    public Scene Generate()
    {
        if (Size < 1 || Bands < 2 || Endmembers < 1) throw new KarmaException("Simulation needs size ≥ 1, bands ≥ 2 and endmembers ≥ 1.");
        var rng = new Random(Seed);
        var wl = Enumerable.Range(0, Bands).Select(i => 400.0 + 2100.0 * i / (Bands - 1)).ToArray();
        var spectra = new float[Bands * Endmembers];
        for (int m = 0; m < Endmembers; m++)
            for (int b = 0; b < Bands; b++) spectra[b * Endmembers + m] = (float)Math.Max(0.005, Archetype(wl[b], m));
        // Perturb variants beyond the five archetypes with smooth random bumps so they differ.
        for (int m = 5; m < Endmembers; m++)
        {
            double centre = 500 + rng.NextDouble() * 1800, width = 80 + rng.NextDouble() * 300, height = 0.05 + rng.NextDouble() * 0.2;
            for (int b = 0; b < Bands; b++)
                spectra[b * Endmembers + m] = (float)Math.Clamp(spectra[b * Endmembers + m] + height * Math.Exp(-Math.Pow((wl[b] - centre) / width, 2)), 0.01, 0.95);
        }

        int n = Size * Size;
        var abundances = SmoothAbundances(rng, n);
        var cube = new float[Bands * n];
        double power = 0;
        for (int p = 0; p < n; p++)
            for (int b = 0; b < Bands; b++)
            {
                double v = 0;
                for (int m = 0; m < Endmembers; m++) v += spectra[b * Endmembers + m] * abundances[m * n + p];
                cube[b * n + p] = (float)v;
                power += v * v;
            }
        double sigma = Math.Sqrt(power / cube.Length / Math.Pow(10, SnrDb / 10));
        for (int i = 0; i < cube.Length; i++) cube[i] += (float)(sigma * Gaussian(rng));
        return new Scene(Size, wl, cube, spectra, abundances, Endmembers);
    }

    float[] SmoothAbundances(Random rng, int n)
    {
        // Each endmember's logit field is a sum of random low-frequency cosines; a sharp softmax over them
        // gives smooth maps with near-pure regions where one field dominates.
        var logits = new double[Endmembers * n];
        for (int m = 0; m < Endmembers; m++)
            for (int k = 0; k < 6; k++)
            {
                double fx = (rng.NextDouble() * 2 - 1) * 3 * Math.PI / Size, fy = (rng.NextDouble() * 2 - 1) * 3 * Math.PI / Size;
                double phase = rng.NextDouble() * 2 * Math.PI, amp = 1 + rng.NextDouble();
                for (int r = 0; r < Size; r++)
                    for (int c = 0; c < Size; c++) logits[m * n + r * Size + c] += amp * Math.Cos(fx * c + fy * r + phase);
            }
        var result = new float[Endmembers * n];
        const double sharpness = 2.0;
        for (int p = 0; p < n; p++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int m = 0; m < Endmembers; m++) max = Math.Max(max, logits[m * n + p]);
            for (int m = 0; m < Endmembers; m++) sum += Math.Exp(sharpness * (logits[m * n + p] - max));
            for (int m = 0; m < Endmembers; m++) result[m * n + p] = (float)(Math.Exp(sharpness * (logits[m * n + p] - max)) / sum);
        }
        return result;
    }

    static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    static double Bump(double x, double centre, double width) => Math.Exp(-0.5 * Math.Pow((x - centre) / width, 2));
    static double Sigmoid(double x, double centre, double width) => 1 / (1 + Math.Exp(-(x - centre) / width));

    /// <summary>Reflectance of archetype <paramref name="kind"/> (mod 5) at wavelength <paramref name="nm"/>.</summary>
    static double Archetype(double nm, int kind) => (kind % 5) switch
    {
        // Vegetation: chlorophyll absorption, green peak, red edge, NIR plateau, leaf-water absorptions.
        0 => 0.04 + 0.06 * Bump(nm, 550, 35) + 0.42 * Sigmoid(nm, 715, 15) * (1 - 0.5 * Sigmoid(nm, 1300, 120))
             - 0.12 * Bump(nm, 1450, 60) - 0.12 * Bump(nm, 1940, 70),
        // Soil: rising, with a clay absorption near 2200 nm.
        1 => 0.08 + 0.27 * Sigmoid(nm, 900, 300) - 0.04 * Bump(nm, 2200, 30) - 0.05 * Bump(nm, 1420, 50),
        // Water: a little blue-green, dark beyond the NIR.
        2 => 0.01 + 0.06 * Bump(nm, 480, 80),
        // Built-up (concrete/roof): bright and flat, slight slope.
        3 => 0.22 + 0.04 * (nm - 400) / 2100 + 0.03 * Bump(nm, 600, 150),
        // Mineral: brightening through the VNIR with carbonate/clay absorptions in the SWIR.
        _ => 0.15 + 0.3 * Sigmoid(nm, 700, 200) - 0.1 * Bump(nm, 2330, 25) - 0.06 * Bump(nm, 2200, 20) - 0.05 * Bump(nm, 900, 80),
    };
}
