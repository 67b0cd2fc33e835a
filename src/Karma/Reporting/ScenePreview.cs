using Karma.Data;

namespace Karma.Reporting;

/// <summary>
/// A colour picture of a whole scene without loading it: only the three displayed bands are read, one source
/// line per output line, decimated so the longer side is at most <c>maxSide</c> pixels, then stretched between
/// the 2nd and 98th percentiles. No-data pixels are black.
/// </summary>
public static class ScenePreview
{
    /// <summary>True colour (red 640, green 550, blue 460 nm).</summary>
    public static readonly (double, double, double) TrueColour = (640, 550, 460);
    /// <summary>Colour infrared (near-infrared 860, red 650, green 550 nm): vegetation shows red.</summary>
    public static readonly (double, double, double) FalseColour = (860, 650, 550);

    /// <summary>Writes the preview of <paramref name="scene"/> to <paramref name="path"/> (PNG).</summary>
    public static void Write(HyperspectralScene scene, string path, (double R, double G, double B) rgbNm, int maxSide = 1024)
    {
        int step = Math.Max(1, (int)Math.Ceiling(Math.Max(scene.Lines, scene.Samples) / (double)maxSide));
        int rows = (scene.Lines + step - 1) / step, cols = (scene.Samples + step - 1) / step;
        var wl = scene.Metadata.Wavelengths;
        int[] bands = wl is { Length: > 0 }
            ? [Nearest(wl, rgbNm.R), Nearest(wl, rgbNm.G), Nearest(wl, rgbNm.B)]
            : [Math.Min(scene.Bands - 1, 3 * scene.Bands / 4), scene.Bands / 2, scene.Bands / 4];
        var cube = new float[3 * rows * cols];
        var line = new float[3 * scene.Samples];
        double? noData = scene.Metadata.NoDataValue;
        for (int r = 0; r < rows; r++)
        {
            scene.ReadWindow(r * step, 0, 1, scene.Samples, bands, line);
            for (int b = 0; b < 3; b++)
                for (int c = 0; c < cols; c++)
                {
                    float v = line[b * scene.Samples + c * step];
                    cube[(b * rows + r) * cols + c] = noData is { } nd && v == nd ? float.NaN : v;
                }
        }
        int scale = Math.Max(1, 256 / Math.Max(rows, cols));
        using var image = Plots.Composite(cube, 3, rows, cols, null, scale: scale, stretch: Plots.StretchOf(cube, 3, rows, cols, [3, 2, 1], (3, 2, 1)));
        Plots.SavePng(image, path);
    }

    static int Nearest(double[] wavelengths, double nm) => Enumerable.Range(0, wavelengths.Length).MinBy(i => Math.Abs(wavelengths[i] - nm));
}
