using Karma.Data;

namespace Karma.Anomaly;

/// <summary>How an implanted target's spectrum was made.</summary>
public enum ImplantKind
{
    /// <summary>A pixel from far away in the same scene, chosen to be unlike the site's surroundings: common in the scene, rare where it is put (an aircraft on a runway).</summary>
    Transplant,
    /// <summary>A far pixel with a Gaussian absorption feature cut into it: a material the scene does not hold.</summary>
    Absorption,
}

/// <summary>Settings of <see cref="AnomalyImplant"/>.</summary>
public sealed record ImplantOptions
{
    /// <summary>Targets to implant (the scene may hold fewer if it runs out of room).</summary>
    public int Count { get; init; } = 20;
    /// <summary>Seed of every random choice; the same seed gives the same implants.</summary>
    public int Seed { get; init; }
    /// <summary>Targets are squares of 1 to this many pixels on a side.</summary>
    public int MaxSize { get; init; } = 3;
    /// <summary>Each target's pixels move a share <c>f</c> of the way towards its spectrum (sub-pixel targets); <c>f</c> is drawn once per target, uniformly from [<see cref="MinFraction"/>, <see cref="MaxFraction"/>].</summary>
    public double MinFraction { get; init; } = 0.3;
    /// <inheritdoc cref="MinFraction"/>
    public double MaxFraction { get; init; } = 1.0;
    /// <summary>A target's donor pixel is at least this far (Chebyshev, pixels) from it, outside local detectors' windows.</summary>
    public int DonorDistance { get; init; } = 20;
    /// <summary>Targets keep at least this many pixels between each other, so one does not sit in another's background.</summary>
    public int Spacing { get; init; } = 8;

    internal void Validate()
    {
        if (Count is < 1 or > 100_000) throw new InvalidSettingException($"Implant between 1 and 100000 targets (got {Count}).") { Settings = ["Count"] };
        if (MaxSize is < 1 or > 4096) throw new InvalidSettingException($"Targets are 1 to 4096 pixels wide (got a maximum size of {MaxSize}).") { Settings = ["MaxSize"] };
        if (!(MinFraction > 0 && MinFraction <= MaxFraction && MaxFraction <= 1))
            throw new InvalidSettingException($"Target fractions must satisfy 0 < min ≤ max ≤ 1 (got {MinFraction} and {MaxFraction}).") { Settings = ["Fraction"] };
        if (Spacing < 0) throw new InvalidSettingException($"The spacing between targets cannot be negative (got {Spacing}).") { Settings = ["Spacing"] };
        if (DonorDistance < 0) throw new InvalidSettingException($"The donor distance cannot be negative (got {DonorDistance}).");
    }
}

/// <summary>One implanted target: its top-left pixel, side, kind, fraction, donor pixel, and the spectral angle (degrees) between its spectrum <c>t</c> and its surroundings' mean (the implanted pixels, moved only a share <c>f</c>, are closer).</summary>
public sealed record ImplantedTarget(int Row, int Col, int Size, ImplantKind Kind, double Fraction, int DonorRow, int DonorCol, double AngleDegrees);

/// <summary>A scene's values with targets implanted, the truth map (1 on every implanted pixel) and the targets.</summary>
public sealed record ImplantResult(float[] Values, int[] Truth, IReadOnlyList<ImplantedTarget> Targets);

/// <summary>
/// Implants synthetic anomalies into a real scene, so detectors can be compared — and a detector chosen — on scenes other
/// than the few with anomaly ground truth. Each target is a square of 1–<see cref="ImplantOptions.MaxSize"/> pixels whose
/// pixels move a share <c>f</c> of the way to a target spectrum <c>t</c> (sub-pixel targets), with <c>t</c> one of two
/// kinds, alternately: a <see cref="ImplantKind.Transplant"/> — the first of up to 101 far pixels whose spectral angle to
/// the site's surroundings exceeds the scene's 90th percentile of that angle (else the most unlike of them), which a
/// global detector can miss — or an <see cref="ImplantKind.Absorption"/> — a far pixel with a Gaussian absorption
/// feature (30–70% deep, σ of 2–8% of the good bands, centred in their middle 80%, in band index, not wavelength) cut
/// into it. The target spectrum is the mean of the 25 pixels most like the donor, so its noise is averaged away, and it
/// is added as <c>y + f·(t − m)</c> with <c>m</c> the mean of the site's surroundings: each pixel keeps its own noise.
/// (Mixing <c>f·t + (1 − f)·y</c> with a noisy <c>t</c> averages noise away, and adding noise back overshoots; either
/// way RX, which weighs every noise dimension, finds the target by its noise level — on Salinas-A a mix made
/// transplants score below the background, and the noise top-up let RX find pure noise at 0.9997 AUC.) Everything is
/// in the scene's stored values, so the result is written back in its own units; only good bands are changed, and
/// invalid pixels are never a site, a donor or a surrounding.
/// </summary>
public static class AnomalyImplant
{
    /// <summary>Implants targets into a scene held in memory.</summary>
    /// <param name="values">The scene, [band][row][col], in stored values; not changed.</param>
    /// <param name="invalid">Per pixel: no-data, never a site, a donor or a surrounding.</param>
    /// <param name="bands">Bands of the scene.</param>
    /// <param name="rows">Rows of the scene.</param>
    /// <param name="cols">Columns of the scene.</param>
    /// <param name="goodBands">Per band: changed and measured (null: all).</param>
    /// <param name="options">How many targets, how large, how mixed, and the seed.</param>
    public static ImplantResult Implant(float[] values, bool[] invalid, int bands, int rows, int cols, bool[]? goodBands, ImplantOptions options)
    {
        options.Validate();
        int pixels = rows * cols;
        if (values.Length != bands * pixels || invalid.Length != pixels) throw new ArgumentException("values and invalid do not match the scene's size");
        if (goodBands is not null && goodBands.Length != bands) throw new ArgumentException($"goodBands has {goodBands.Length} entries for {bands} bands");
        var good = Enumerable.Range(0, bands).Where(b => goodBands is not { } g || g[b]).ToArray();
        var result = values.ToArray();
        var truth = new int[pixels];
        var random = new Random(options.Seed);
        var valid = Enumerable.Range(0, pixels).Where(p => !invalid[p]).ToArray();
        if (valid.Length < 2) throw new InvalidSettingException("The scene has fewer than two valid pixels to implant targets into.");
        if (good.Length == 0) throw new InvalidSettingException("The scene has no good band to implant targets into.");
        var inverseNorm = InverseNorms(values, good, valid, pixels);

        double[] Spectrum(int p) => good.Select(b => (double)values[b * pixels + p]).ToArray();
        // The mean of the valid pixels in the ring between the block and a 4-pixel margin around it (null if none).
        double[]? Surroundings(int row, int col, int size)
        {
            var mean = new double[good.Length];
            int n = 0;
            for (int r = Math.Max(0, row - 4); r < Math.Min(rows, row + size + 4); r++)
                for (int c = Math.Max(0, col - 4); c < Math.Min(cols, col + size + 4); c++)
                {
                    if ((r >= row && r < row + size && c >= col && c < col + size) || invalid[r * cols + c]) continue;
                    for (int i = 0; i < good.Length; i++) mean[i] += values[good[i] * pixels + r * cols + c];
                    n++;
                }
            if (n == 0) return null;
            for (int i = 0; i < good.Length; i++) mean[i] /= n;
            return mean;
        }
        // How unlike its surroundings an ordinary pixel is: the 90th percentile over up to 500 pixels.
        var ordinary = new List<double>();
        foreach (int p in valid.OrderBy(_ => random.Next()).Take(500))
            if (Surroundings(p / cols, p % cols, 1) is { } around) ordinary.Add(Angle(Spectrum(p), around));
        ordinary.Sort();
        double threshold = ordinary.Count > 0 ? ordinary[(int)(0.9 * (ordinary.Count - 1))] : 0;

        var targets = new List<ImplantedTarget>();
        int largest = Math.Min(options.MaxSize, Math.Min(rows, cols));
        for (long attempt = 0; attempt < 200L * options.Count && targets.Count < options.Count; attempt++)
        {
            int size = random.Next(1, largest + 1);
            int row = random.Next(0, rows - size + 1), col = random.Next(0, cols - size + 1);
            bool clear = true;
            for (int r = row; r < row + size && clear; r++) for (int c = col; c < col + size && clear; c++) clear = !invalid[r * cols + c];
            foreach (var t in targets)
                clear &= Gap(row, size, t.Row, t.Size) > options.Spacing || Gap(col, size, t.Col, t.Size) > options.Spacing;
            if (!clear || Surroundings(row, col, size) is not { } background) continue;
            var far = valid.Where(p => Gap(row, size, p / cols, 1) >= options.DonorDistance || Gap(col, size, p % cols, 1) >= options.DonorDistance).ToArray();
            if (far.Length == 0) continue;
            var kind = targets.Count % 2 == 0 ? ImplantKind.Transplant : ImplantKind.Absorption;
            int donor = far[random.Next(far.Length)];
            var spectrum = Spectrum(donor);
            if (kind == ImplantKind.Transplant)
            {
                // The first of up to 100 far pixels unlike the surroundings, or the most unlike of them.
                double best = Angle(spectrum, background);
                for (int tries = 0; tries < 100 && best < threshold; tries++)
                {
                    int candidate = far[random.Next(far.Length)];
                    double angle = Angle(Spectrum(candidate), background);
                    if (angle > best) (best, donor, spectrum) = (angle, candidate, Spectrum(candidate));
                }
            }
            spectrum = Signature(values, good, valid, inverseNorm, pixels, spectrum);
            if (kind == ImplantKind.Absorption)
            {
                double centre = (0.1 + 0.8 * random.NextDouble()) * (good.Length - 1), width = (0.02 + 0.06 * random.NextDouble()) * good.Length;
                double depth = 0.3 + 0.4 * random.NextDouble();
                for (int i = 0; i < good.Length; i++) spectrum[i] *= 1 - depth * Math.Exp(-0.5 * Math.Pow((i - centre) / width, 2));
            }
            double f = options.MinFraction + (options.MaxFraction - options.MinFraction) * random.NextDouble();
            // y + f·(t − background): the pixel keeps its own noise and texture, and its signal moves a share f of the way
            // from the surroundings' mean to the target's. Mixing noisy spectra directly would average their noise away,
            // and adding noise back would overshoot; either way RX would find the target by its noise level alone.
            for (int r = row; r < row + size; r++)
                for (int c = col; c < col + size; c++)
                {
                    int p = r * cols + c;
                    truth[p] = 1;
                    for (int i = 0; i < good.Length; i++)
                    {
                        int k = good[i] * pixels + p;
                        result[k] = (float)(values[k] + f * (spectrum[i] - background[i]));
                    }
                }
            targets.Add(new ImplantedTarget(row, col, size, kind, f, donor / cols, donor % cols, Angle(spectrum, background)));
        }
        return new ImplantResult(result, truth, targets);
    }

    /// <summary>
    /// Implants targets into the scene at <paramref name="input"/> and writes it to <paramref name="output"/> (GeoTIFF for
    /// .tif, else ENVI; float32, with the input's band information, georeferencing and reflectance scale) and the truth
    /// map to <paramref name="truthPath"/> (one band, 1 = implanted). Pixels the readers skip — no-data, non-finite, or
    /// flagged by a product's quality layers, which the output cannot carry — are written as no-data (NaN when the input
    /// has no no-data value). An earlier truth map at <paramref name="truthPath"/> is removed first, so a failed write
    /// never leaves a new scene beside an old map; each file is written atomically.
    /// </summary>
    public static IReadOnlyList<ImplantedTarget> ImplantFile(string input, string output, string truthPath, ImplantOptions options)
    {
        using var scene = HyperspectralScene.Open(input);
        int pixels = scene.Lines * scene.Samples;
        if ((long)scene.Bands * pixels > Array.MaxLength)
            throw new InvalidSettingException(scene.Path, $"is too large to implant targets into in memory ({scene.Bands} bands × {pixels} pixels); cut a window of it first.");
        var values = new float[scene.Bands * pixels];
        scene.ReadWindow(0, 0, scene.Lines, scene.Samples, [], values);
        var m = scene.Metadata;
        var goodBands = m.GoodBands is { } g && g.Length == scene.Bands ? g : null;
        // Invalid exactly as ReflectanceReader decides it: any non-finite or no-data value, or the product's quality flags.
        var invalid = new bool[pixels];
        for (int b = 0; b < scene.Bands; b++)
        {
            if (goodBands is not null && !goodBands[b]) continue;
            for (int p = 0; p < pixels; p++)
                if (values[b * pixels + p] is var v && (!float.IsFinite(v) || (m.NoDataValue is { } nd && v == nd))) invalid[p] = true;
        }
        scene.ReadQualityMask(0, 0, scene.Lines, scene.Samples, invalid);
        double scale = new ReflectanceReader(scene, new TilingOptions()).Scale;
        var implanted = Implant(values, invalid, scene.Bands, scene.Lines, scene.Samples, goodBands, options);
        if (implanted.Targets.Count == 0)
            throw new InvalidSettingException(scene.Path, $"has no room for a target: too small, too much no-data, or no pixel {options.DonorDistance} pixels from a site to take a spectrum from.");
        float missing = m.NoDataValue is { } noData ? (float)noData : float.NaN;
        for (int b = 0; b < scene.Bands; b++)
            if (goodBands is null || goodBands[b])
                for (int p = 0; p < pixels; p++) if (invalid[p]) implanted.Values[b * pixels + p] = missing;
        if (File.Exists(truthPath)) File.Delete(truthPath);
        SceneWriter.Write(output, scene.Lines, scene.Samples, scene.Bands, implanted.Values, m with { ReflectanceScale = scale });
        var grid = new SceneMetadata { MapInfo = m.MapInfo, CoordinateSystem = m.CoordinateSystem, GeoTransform = m.GeoTransform };
        SceneWriter.Write(truthPath, scene.Lines, scene.Samples, 1, implanted.Truth.Select(t => (float)t).ToArray(), grid);
        return implanted.Targets;
    }

    /// <summary>1 / ‖x‖ of every valid pixel's good bands (0 for a zero spectrum), computed once for every target's <see cref="Signature"/>.</summary>
    static double[] InverseNorms(float[] values, int[] good, int[] valid, int pixels)
    {
        var squares = new double[valid.Length];
        foreach (int b in good)
        {
            int offset = b * pixels;
            for (int j = 0; j < valid.Length; j++) { double v = values[offset + valid[j]]; squares[j] += v * v; }
        }
        return squares.Select(q => q > 0 ? 1 / Math.Sqrt(q) : 0).ToArray();
    }

    /// <summary>
    /// The mean of the <paramref name="count"/> valid pixels closest in spectral angle to <paramref name="donor"/> (itself
    /// among them): the donor's material with its noise averaged away. Dot products are summed over blocks of pixels so
    /// the block's sums stay in cache while the bands stream past.
    /// </summary>
    static double[] Signature(float[] values, int[] good, int[] valid, double[] inverseNorm, int pixels, double[] donor, int count = 25)
    {
        const int block = 2048;
        var best = new List<(double Cosine, int Index)>(count + 1);
        var dot = new double[block];
        for (int start = 0; start < valid.Length; start += block)
        {
            int n = Math.Min(block, valid.Length - start);
            Array.Clear(dot, 0, n);
            for (int i = 0; i < good.Length; i++)
            {
                int offset = good[i] * pixels;
                double d = donor[i];
                for (int j = 0; j < n; j++) dot[j] += values[offset + valid[start + j]] * d;
            }
            for (int j = 0; j < n; j++)
            {
                double cosine = dot[j] * inverseNorm[start + j];
                if (best.Count == count && cosine <= best[^1].Cosine) continue;
                int at = best.FindIndex(e => cosine > e.Cosine);
                best.Insert(at < 0 ? best.Count : at, (cosine, start + j));
                if (best.Count > count) best.RemoveAt(count);
            }
        }
        var mean = new double[good.Length];
        foreach (var (_, index) in best)
            for (int i = 0; i < good.Length; i++) mean[i] += values[good[i] * pixels + valid[index]] / best.Count;
        return mean;
    }

    /// <summary>Distance along one axis between the pixel intervals [a, a+sa) and [b, b+sb): 1 for neighbours, 0 when they overlap.</summary>
    static int Gap(int a, int sa, int b, int sb) => Math.Max(0, Math.Max(b - (a + sa - 1), a - (b + sb - 1)));

    static double Angle(double[] x, double[] y)
    {
        double dot = 0, xx = 0, yy = 0;
        for (int i = 0; i < x.Length; i++) { dot += x[i] * y[i]; xx += x[i] * x[i]; yy += y[i] * y[i]; }
        return xx > 0 && yy > 0 ? Math.Acos(Math.Clamp(dot / Math.Sqrt(xx * yy), -1, 1)) * 180 / Math.PI : 0;
    }
}
