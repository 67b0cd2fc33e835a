using Karma.Evaluation;
using ScottPlot;
using SkiaSharp;

namespace Karma.Reporting;

/// <summary>
/// The pictures Karma produces, as PNG files: spectra against wavelength, maps with a colour bar (abundances,
/// errors, confusion matrices), training curves, bar charts, and colour composites of cubes. Charts are drawn
/// by ScottPlot and images by SkiaSharp; every method copes with degenerate input (constant images, one band,
/// NaN) by drawing what is there rather than failing.
/// </summary>
public static class Plots
{
    /// <summary>Default picture size in pixels.</summary>
    public const int Width = 800, Height = 450;

    /// <summary>
    /// Line plot of spectra against wavelength in nm (or band number when <paramref name="wavelengths"/> is null). Bands of
    /// overlapping spectrometers (centres that go backwards in file order) are drawn as one line per spectrometer in the
    /// series' colour, never as a line jumping back across the overlap (<see cref="LineRuns"/>).
    /// </summary>
    public static void Spectra(string path, double[]? wavelengths, IEnumerable<(string Label, double[] Values)> series, string title, string yLabel = "reflectance")
    {
        var plot = new Plot();
        int k = 0;
        foreach (var (label, values) in series)
        {
            var x = wavelengths ?? Enumerable.Range(1, values.Length).Select(i => (double)i).ToArray();
            var y = Finite(values);
            var colour = plot.Add.Palette.GetColor(k++);
            bool first = true;
            foreach (var run in LineRuns(x))
            {
                var line = plot.Add.ScatterLine(run.Select(i => x[i]).ToArray(), run.Select(i => y[i]).ToArray(), colour);
                if (first) line.LegendText = label;
                line.LineWidth = 2;
                first = false;
            }
        }
        plot.Title(title);
        plot.XLabel(wavelengths is null ? "band" : "wavelength (nm)");
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path);
    }

    /// <summary>
    /// The band indices of each line to draw: runs along which <paramref name="x"/> increases, one per spectrometer when
    /// the bands of several overlap (a new run starts wherever x does not increase).
    /// </summary>
    public static IReadOnlyList<int[]> LineRuns(double[] x)
    {
        var runs = new List<int[]>();
        int start = 0;
        for (int i = 1; i <= x.Length; i++)
            if (i == x.Length || !(x[i] > x[i - 1]))
            {
                runs.Add(Enumerable.Range(start, i - start).ToArray());
                start = i;
            }
        return runs;
    }

    /// <summary>A map [rows, cols] with a colour bar; NaN cells are drawn grey. <paramref name="range"/> fixes the colour scale.</summary>
    public static void Map(string path, double[,] values, string title, string label, (double Min, double Max)? range = null, bool square = true)
    {
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.NaNCellColor = Colors.Gray;
        var finite = values.Cast<double>().Where(double.IsFinite).ToArray();
        double lo = range?.Min ?? (finite.Length > 0 ? finite.Min() : 0), hi = range?.Max ?? (finite.Length > 0 ? finite.Max() : 1);
        if (!(hi > lo)) hi = lo + 1;
        heatmap.ManualRange = new ScottPlot.Range(lo, hi);
        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = label;
        plot.Title(title);
        // Axes fit the image, pixel coordinates from 0 at the top-left; the picture's width follows the map's aspect so
        // square pixels need no padding (a square frame used to show a 128-pixel scene from −60 to 180).
        int rows = values.GetLength(0), cols = values.GetLength(1);
        var limits = heatmap.GetAxisLimits();
        plot.Axes.SetLimits(limits.Left, limits.Right, limits.Top, limits.Bottom);
        int width = square ? (int)Math.Clamp(Height * 0.8 * cols / Math.Max(1, rows) + 180, 320, 1400) : Width;
        Save(plot, path, width, Height);
    }

    /// <summary>
    /// A confusion matrix [true class, predicted class] as a heat map of row-normalised fractions (so rare
    /// classes stay visible) with each cell's count written in it, class names on both axes.
    /// </summary>
    public static void ConfusionMatrix(string path, int[,] counts, IReadOnlyList<string> classes, string title)
    {
        int n = counts.GetLength(0);
        if (counts.GetLength(1) != n || classes.Count != n) throw new ArgumentException("the matrix must be square with one name per class");
        var fractions = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            double total = Enumerable.Range(0, n).Sum(j => counts[i, j]);
            for (int j = 0; j < n; j++) fractions[i, j] = total > 0 ? counts[i, j] / total : double.NaN;
        }
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(fractions);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        heatmap.NaNCellColor = Colors.LightGray;
        plot.Add.ColorBar(heatmap).Label = "fraction of the true class";
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                var text = plot.Add.Text(counts[i, j].ToString(System.Globalization.CultureInfo.InvariantCulture), j, i);
                text.LabelFontColor = fractions[i, j] > 0.5 ? Colors.Black : Colors.White;
                text.LabelAlignment = Alignment.MiddleCenter;
            }
        var ticks = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(ticks, classes.ToArray());
        plot.Axes.Left.SetTicks(ticks, classes.ToArray());
        plot.Axes.InvertY();
        plot.XLabel("predicted");
        plot.YLabel("true");
        plot.Title(title);
        Save(plot, path, 640, 560);
    }

    /// <summary>Training curves: each loss term on a log scale against the step.</summary>
    public static void Curves(string path, IReadOnlyList<Training.StepRecord> log, string title)
    {
        var plot = new Plot();
        void Add(string label, Func<Training.StepRecord, double?> f)
        {
            // Each series over the steps that measured it (with --physics-every k the physics term is measured every k-th step).
            var measured = log.Where(r => f(r) is not null).ToList();
            var steps = measured.Select(r => (double)r.Step).ToArray();
            var ys = measured.Select(r => f(r) is { } v && v > 0 ? Math.Log10(v) : double.NaN).ToArray();
            if (ys.All(double.IsNaN)) return;
            var line = plot.Add.ScatterLine(steps, Smooth(ys));
            line.LegendText = label;
            line.LineWidth = 1.5f;
        }
        // The total includes the physics term only on the steps that ran the branch; plotted there alone, it does not saw-tooth.
        bool physics = log.Any(r => r.Physics is not null);
        Add("total", r => physics && r.Physics is null ? null : r.Loss);
        Add("huber", r => r.Huber);
        Add("sam", r => r.Sam);
        Add("physics", r => r.Physics);
        Add("learning rate", r => r.LearningRate);
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("log10(value), smoothed");
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path);
    }

    /// <summary>Lines through (x, y) points, one per series with its label; <paramref name="diagonal"/> adds the y = x chance line (ROC plots).</summary>
    public static void Lines(string path, IEnumerable<(string Label, double[] X, double[] Y)> series, string title, string xLabel, string yLabel, bool diagonal = false)
    {
        var plot = new Plot();
        foreach (var (label, x, y) in series)
        {
            var line = plot.Add.ScatterLine(x, y);
            line.LegendText = label;
            line.LineWidth = 2;
        }
        if (diagonal)
        {
            var chance = plot.Add.ScatterLine(new double[] { 0, 1 }, new double[] { 0, 1 });
            chance.LinePattern = LinePattern.Dashed;
            chance.Color = Colors.Gray;
            chance.LegendText = "chance";
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.LowerRight);
        Save(plot, path);
    }

    /// <summary>
    /// Per name, every run's value as a point and their mean ± standard deviation as a bar with error bars, so a reader sees
    /// the spread behind a comparison, not one number.
    /// </summary>
    public static void Spread(string path, IReadOnlyList<(string Name, double Value)> runs, string title, string yLabel)
    {
        var plot = new Plot();
        var names = runs.Select(r => r.Name).Distinct().ToList();
        for (int i = 0; i < names.Count; i++)
        {
            var values = runs.Where(r => r.Name == names[i] && double.IsFinite(r.Value)).Select(r => r.Value).ToArray();
            if (values.Length == 0) continue;
            var spread = RunSpread.Of(values);
            var colour = plot.Add.Palette.GetColor(i);
            var bar = plot.Add.Bar(new Bar { Position = i, Value = spread.Mean, Error = spread.Std, FillColor = colour.WithAlpha(0.4), LineColor = colour });
            var xs = values.Select((_, k) => i - 0.2 + 0.4 * (values.Length == 1 ? 0.5 : k / (double)(values.Length - 1))).ToArray();
            var points = plot.Add.ScatterPoints(xs, values, colour);
            points.MarkerSize = 6;
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, names.Count).Select(i => (double)i).ToArray(), names.ToArray());
        plot.Title(title);
        plot.YLabel(yLabel);
        Save(plot, path);
    }

    /// <summary>One bar per name.</summary>
    public static void Bars(string path, IReadOnlyList<string> names, IReadOnlyList<double> values, string title, string yLabel)
    {
        var plot = new Plot();
        var bars = values.Select((v, i) => new Bar { Position = i, Value = double.IsFinite(v) ? v : 0, FillColor = plot.Add.Palette.GetColor(i) }).ToArray();
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, names.Count).Select(i => (double)i).ToArray(), names.ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel(yLabel);
        Save(plot, path, 500, 380);
    }

    static double[] Finite(double[] values) => values.Select(v => double.IsFinite(v) ? v : double.NaN).ToArray();

    static double[] Smooth(double[] ys)
    {
        int window = Math.Max(1, ys.Length / 50);
        var result = new double[ys.Length];
        for (int i = 0; i < ys.Length; i++)
        {
            var slice = ys.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(window, i + 1)).Where(double.IsFinite).ToArray();
            result[i] = slice.Length > 0 ? slice.Average() : double.NaN;
        }
        return result;
    }

    static void Save(Plot plot, string path, int width = Width, int height = Height)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFiles.Write(path, s => s.Write(plot.GetImageBytes(width, height, ImageFormat.Png)));
    }

    /// <summary>Per-channel display range of a composite: which bands are shown and between which values.</summary>
    public sealed record Stretch(int[] Channels, float[] Low, float[] High);

    /// <summary>
    /// The composite channels of a cube [bands][rows][cols]: the bands nearest <paramref name="redGreenBlueNm"/>
    /// (true colour 640/550/460 nm by default; colour-infrared 860/650/550) or, without wavelengths, three
    /// spread-out bands; each stretched between its 2nd and 98th percentiles.
    /// </summary>
    public static Stretch StretchOf(ReadOnlySpan<float> cube, int bands, int rows, int cols, double[]? wavelengths, (double R, double G, double B)? redGreenBlueNm = null)
    {
        int pixels = rows * cols;
        var (rNm, gNm, bNm) = redGreenBlueNm ?? (640, 550, 460);
        int[] channels = wavelengths is { Length: > 0 } wl
            ? [Nearest(wl, rNm), Nearest(wl, gNm), Nearest(wl, bNm)]
            : [Math.Min(bands - 1, 3 * bands / 4), bands / 2, bands / 4];
        var low = new float[3];
        var high = new float[3];
        for (int c = 0; c < 3; c++) (low[c], high[c]) = PercentileRange(cube.Slice(channels[c] * pixels, pixels));
        return new Stretch(channels, low, high);
    }

    /// <summary>
    /// A colour composite of a cube [bands][rows][cols] shown with <paramref name="stretch"/> (by default the cube's
    /// own, see <see cref="StretchOf"/>); pass the stretch of an original to show its reconstruction in the same
    /// colours. Non-finite pixels are black; <paramref name="scale"/> enlarges each pixel to a block.
    /// </summary>
    public static SKBitmap Composite(ReadOnlySpan<float> cube, int bands, int rows, int cols, double[]? wavelengths,
                                     (double R, double G, double B)? redGreenBlueNm = null, int scale = 1, Stretch? stretch = null)
    {
        int pixels = rows * cols;
        stretch ??= StretchOf(cube, bands, rows, cols, wavelengths, redGreenBlueNm);
        var bitmap = new SKBitmap(cols * scale, rows * scale, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var bytes = new byte[3, pixels];
        for (int c = 0; c < 3; c++)
        {
            var band = cube.Slice(stretch.Channels[c] * pixels, pixels);
            float lo = stretch.Low[c], hi = stretch.High[c];
            for (int p = 0; p < pixels; p++)
                bytes[c, p] = float.IsFinite(band[p]) ? (byte)Math.Clamp((band[p] - lo) / (hi - lo) * 255, 0, 255) : (byte)0;
        }
        for (int y = 0; y < rows * scale; y++)
            for (int x = 0; x < cols * scale; x++)
            {
                int p = y / scale * cols + x / scale;
                bitmap.SetPixel(x, y, new SKColor(bytes[0, p], bytes[1, p], bytes[2, p]));
            }
        return bitmap;
    }

    static int Nearest(double[] wavelengths, double nm) =>
        Enumerable.Range(0, wavelengths.Length).MinBy(i => Math.Abs(wavelengths[i] - nm));

    static (float Lo, float Hi) PercentileRange(ReadOnlySpan<float> values)
    {
        var finite = new List<float>(values.Length);
        foreach (var v in values) if (float.IsFinite(v)) finite.Add(v);
        if (finite.Count == 0) return (0, 1);
        finite.Sort();
        float lo = finite[(int)(0.02 * (finite.Count - 1))], hi = finite[(int)(0.98 * (finite.Count - 1))];
        return hi > lo ? (lo, hi) : (lo - 0.5f, lo + 0.5f);
    }

    /// <summary>Images side by side, each under its caption, on a white background.</summary>
    public static SKBitmap SideBySide(IReadOnlyList<(string Caption, SKBitmap Image)> panels, int gap = 8)
    {
        const int captionHeight = 22;
        int width = panels.Sum(p => p.Image.Width) + gap * (panels.Count + 1);
        int height = panels.Max(p => p.Image.Height) + captionHeight + 2 * gap;
        var result = new SKBitmap(width, height);
        using var canvas = new SKCanvas(result);
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 14);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        int x = gap;
        foreach (var (caption, image) in panels)
        {
            canvas.DrawText(caption, x, gap + 14, font, paint);
            canvas.DrawBitmap(image, x, gap + captionHeight);
            x += image.Width + gap;
        }
        return result;
    }

    /// <summary>One colour per category (Tableau 10, then repeated darker), and dark grey for "none".</summary>
    static SKColor CategoryColour(int index)
    {
        uint[] tableau = [0x4E79A7, 0xF28E2B, 0xE15759, 0x76B7B2, 0x59A14F, 0xEDC948, 0xB07AA1, 0xFF9DA7, 0x9C755F, 0xBAB0AC];
        uint rgb = tableau[index % tableau.Length];
        float shade = index < tableau.Length ? 1f : 0.6f;
        return new SKColor((byte)((rgb >> 16 & 0xFF) * shade), (byte)((rgb >> 8 & 0xFF) * shade), (byte)((rgb & 0xFF) * shade));
    }

    /// <summary>
    /// Categorical maps side by side with one legend: each panel is [rows·cols] category indices (−1 = none, drawn dark
    /// grey), scaled up by whole pixels so small scenes stay readable. Used for class maps and error maps.
    /// </summary>
    public static void CategoryMaps(string path, IReadOnlyList<(string Caption, int[] Categories, int Rows, int Cols)> panels,
                                    IReadOnlyList<string> names, string title, IReadOnlyList<SKColor>? colours = null)
    {
        int largest = panels.Max(p => Math.Max(p.Rows, p.Cols));
        int scale = Math.Max(1, 256 / largest);
        SKColor Colour(int k) => k < 0 ? new SKColor(40, 40, 40) : colours?[k] ?? CategoryColour(k);
        var images = panels.Select(p =>
        {
            var image = new SKBitmap(p.Cols * scale, p.Rows * scale);
            using var canvas = new SKCanvas(image);
            using var paint = new SKPaint();
            for (int r = 0; r < p.Rows; r++)
                for (int c = 0; c < p.Cols; c++)
                {
                    paint.Color = Colour(p.Categories[r * p.Cols + c]);
                    canvas.DrawRect(c * scale, r * scale, scale, scale, paint);
                }
            return (p.Caption, image);
        }).ToList();
        using var maps = SideBySide(images);
        foreach (var (_, image) in images) image.Dispose();
        const int row = 20, header = 28;
        int legendRows = (names.Count + 3) / 4;
        using var result = new SKBitmap(Math.Max(maps.Width, 640), header + maps.Height + legendRows * row + 8);
        using (var canvas = new SKCanvas(result))
        {
            canvas.Clear(SKColors.White);
            using var titleFont = new SKFont(SKTypeface.Default, 16);
            using var font = new SKFont(SKTypeface.Default, 13);
            using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            canvas.DrawText(title, 8, 20, titleFont, ink);
            canvas.DrawBitmap(maps, 0, header);
            int columnWidth = result.Width / 4;
            for (int k = 0; k < names.Count; k++)
            {
                int x = 8 + k % 4 * columnWidth, y = header + maps.Height + k / 4 * row;
                using var swatch = new SKPaint { Color = Colour(k) };
                canvas.DrawRect(x, y + 3, 14, 14, swatch);
                canvas.DrawText(names[k], x + 20, y + 15, font, ink);
            }
        }
        SavePng(result, path);
    }

    /// <summary>Writes <paramref name="bitmap"/> as PNG, atomically.</summary>
    public static void SavePng(SKBitmap bitmap, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFiles.Write(path, s => data.SaveTo(s));
    }
}
