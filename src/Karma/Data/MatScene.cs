namespace Karma.Data;

/// <summary>
/// A hyperspectral cube held in a MATLAB file as a rows × columns × bands array. MATLAB files cannot be
/// windowed, so the chosen variable is loaded whole (the benchmark scenes that ship this way are small);
/// use ENVI or GeoTIFF for large scenes. Wavelengths come from a vector variable named like
/// <c>wavelength(s)</c> with one value per band, when the file has one.
/// </summary>
public sealed class MatScene : HyperspectralScene
{
    double[] values = [];

    MatScene() { }

    /// <summary>
    /// Opens <paramref name="path"/>, optionally naming the variable as <c>file.mat:variable</c>. Without a
    /// name the file must hold exactly one three-dimensional numeric array.
    /// </summary>
    public static new MatScene Open(string path)
    {
        var (file, name) = Split(path);
        var variables = MatFile.List(file);
        var cubes = variables.Where(v => v.IsNumeric && v.Dimensions.Length == 3).ToList();
        if (name is null)
        {
            if (cubes.Count != 1)
                throw new SceneFileException(file, cubes.Count == 0
                    ? $"holds no rows × columns × bands array. It holds: {string.Join(", ", variables)}."
                    : $"holds several cubes ({string.Join(", ", cubes)}); name one as {System.IO.Path.GetFileName(file)}:VARIABLE.");
            name = cubes[0].Name;
        }
        var array = MatFile.Read(file, name);
        var dims = array.Variable.Dimensions;
        if (dims.Length != 3)
            throw new SceneFileException(file, $"variable {array.Variable} is not a rows × columns × bands array.");
        var type = array.Variable.Class switch
        {
            "double" => RasterDataType.Float64, "single" => RasterDataType.Float32, "uint8" or "logical" => RasterDataType.Byte,
            "int8" or "int16" => RasterDataType.Int16, "uint16" => RasterDataType.UInt16, "int32" => RasterDataType.Int32,
            "uint32" => RasterDataType.UInt32, "int64" => RasterDataType.Int64, _ => RasterDataType.UInt64,
        };
        return new MatScene
        {
            Path = file, Lines = dims[0], Samples = dims[1], Bands = dims[2], DataType = type, Interleave = Interleave.Bsq,
            Metadata = new SceneMetadata { Wavelengths = Wavelengths(file, variables, dims[2]) }, values = array.Values,
        };
    }

    /// <summary>Splits <c>file.mat:variable</c> into its parts (the variable is null when not given).</summary>
    public static (string File, string? Variable) Split(string path)
    {
        int at = path.LastIndexOf(".mat:", StringComparison.OrdinalIgnoreCase);
        return at < 0 ? (path, null) : (path[..(at + 4)], path[(at + 5)..]);
    }

    static double[]? Wavelengths(string file, IReadOnlyList<MatVariable> variables, int bands)
    {
        var candidate = variables.FirstOrDefault(v => v.IsNumeric && v.Count == bands &&
            v.Name.ToLowerInvariant() is "wavelength" or "wavelengths" or "wl" or "wavelength_nm" or "lambda");
        if (candidate is null) return null;
        var wl = MatFile.Read(file, candidate.Name).Values;
        // Micrometres when every value is below 100: nothing in 400–2500 nm is that small.
        return wl.Max() < 100 ? wl.Select(w => w * 1000).ToArray() : wl;
    }

    double At(int band, int row, int col) => values[row + (long)Lines * (col + (long)Samples * band)];

    /// <inheritdoc/>
    protected override void ReadWindowCore(int row, int col, int rows, int cols, ReadOnlySpan<int> bands, Span<float> destination)
    {
        for (int i = 0; i < bands.Length; i++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    destination[(i * rows + r) * cols + c] = (float)At(bands[i], row + r, col + c);
    }

    /// <inheritdoc/>
    protected override double[] ReadPixelCore(int row, int col)
    {
        var result = new double[Bands];
        for (int b = 0; b < Bands; b++) result[b] = At(b, row, col);
        return result;
    }

    /// <inheritdoc/>
    public override void Dispose() => values = [];
}
