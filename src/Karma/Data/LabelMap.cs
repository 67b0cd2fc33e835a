namespace Karma.Data;

/// <summary>Class or truth maps on a scene's grid: a one-band raster or a 2-D MATLAB variable, as whole numbers.</summary>
public static class LabelMap
{
    /// <summary>A label map as integers [rows·cols], from a one-band raster or a 2-D MATLAB variable.</summary>
    public static int[] Read(string path, int rows, int cols)
    {
        var (file, variable) = MatScene.Split(path);
        double[] values;
        if (file.EndsWith(".mat", StringComparison.OrdinalIgnoreCase))
        {
            var name = variable ?? MatFile.List(file).FirstOrDefault(v => v.IsNumeric && v.Dimensions.SequenceEqual([rows, cols]))?.Name
                       ?? throw new SceneFileException(file, $"holds no {rows}×{cols} label map; name it as {Path.GetFileName(file)}:VARIABLE.");
            var array = MatFile.Read(file, name);
            if (!array.Variable.Dimensions.SequenceEqual([rows, cols]))
                throw new SceneFileException(file, $"variable {array.Variable} is not on the scene's {rows}×{cols} grid.");
            values = new double[rows * cols];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) values[r * cols + c] = array[r, c];
        }
        else
        {
            using var map = HyperspectralScene.Open(path);
            if (map.Bands != 1) throw new SceneFileException(path, $"has {map.Bands} bands; a label map has one (class numbers).");
            if (map.Lines != rows || map.Samples != cols) throw new SceneFileException(path, $"is {map.Lines}×{map.Samples} but the scene is {rows}×{cols}.");
            var band = new float[rows * cols];
            map.ReadWindow(0, 0, rows, cols, [0], band);
            values = band.Select(v => (double)v).ToArray();
        }
        if (values.Any(v => !double.IsFinite(v) || v != Math.Round(v)))
            throw new SceneFileException(path, "holds values that are not whole numbers; a label map stores class numbers.");
        if (values.Any(v => v < 0 || v > int.MaxValue))
            throw new SceneFileException(path, $"holds class number {values.First(v => v < 0 || v > int.MaxValue)}; class numbers are whole numbers from 0 (0 usually marks unlabelled pixels).");
        return values.Select(v => (int)v).ToArray();
    }
}
