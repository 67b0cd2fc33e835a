using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Karma.Data;

/// <summary>
/// An EnMAP L2A product: the <c>SPECTRAL_IMAGE</c> GeoTIFF read with the band information of its
/// <c>METADATA.XML</c> (centre wavelengths, FWHM, gain/offset, the no-data bands whose statistics say
/// mean −1000000 and standard deviation 0) and its quality layers (cloud, cloud shadow, haze, snow, cirrus;
/// non-zero = flagged), which tiling treats like no-data. Open the product folder, its spectral image or its
/// metadata file.
/// </summary>
public sealed class EnmapScene : HyperspectralScene
{
    /// <summary>Quality layers read as pixel flags, by the suffix of their file name.</summary>
    public static readonly string[] QualityLayers = ["QL_QUALITY_CLOUD", "QL_QUALITY_CLOUDSHADOW", "QL_QUALITY_HAZE", "QL_QUALITY_SNOW", "QL_QUALITY_CIRRUS"];

    GeoTiffScene image = null!;
    List<GeoTiffScene> masks = [];

    /// <summary>Names of the quality layers found beside the image.</summary>
    public IReadOnlyList<string> MaskNames { get; private init; } = [];

    EnmapScene() { }

    /// <summary>True when <paramref name="path"/> names an EnMAP product folder, its spectral image or its metadata.</summary>
    public static bool IsProduct(string path) =>
        Directory.Exists(path) ? Directory.EnumerateFiles(path, "*METADATA.XML").Any()
                               : path.EndsWith("METADATA.XML", StringComparison.OrdinalIgnoreCase) ||
                                 (System.IO.Path.GetFileName(path).Contains("SPECTRAL_IMAGE", StringComparison.OrdinalIgnoreCase) &&
                                  Directory.EnumerateFiles(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!, "*METADATA.XML").Any());

    /// <summary>Opens the product at <paramref name="path"/>.</summary>
    public static new EnmapScene Open(string path)
    {
        string folder = Directory.Exists(path) ? path : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        string metadata = Directory.EnumerateFiles(folder, "*METADATA.XML").FirstOrDefault()
                          ?? throw new SceneFileException(folder, "holds no *METADATA.XML; an EnMAP L2A product folder has one beside its SPECTRAL_IMAGE.");
        string spectral = Directory.EnumerateFiles(folder, "*SPECTRAL_IMAGE*.TIF", new EnumerationOptions { MatchCasing = MatchCasing.CaseInsensitive })
                              .OrderBy(f => f.Contains("COG", StringComparison.OrdinalIgnoreCase)).FirstOrDefault()
                          ?? throw new SceneFileException(folder, "holds no *SPECTRAL_IMAGE*.TIF. Unpack the product (a VRT-only product must be converted with gdal_translate first).");
        var image = GeoTiffScene.Open(spectral);
        var masks = new List<GeoTiffScene>();
        var names = new List<string>();
        try
        {
            var bands = ReadBands(metadata, image.Bands);
            foreach (var layer in QualityLayers)
            {
                var file = Directory.EnumerateFiles(folder, $"*{layer}.TIF", new EnumerationOptions { MatchCasing = MatchCasing.CaseInsensitive }).FirstOrDefault();
                if (file is null) continue;
                var mask = GeoTiffScene.Open(file);
                if (mask.Lines != image.Lines || mask.Samples != image.Samples)
                {
                    mask.Dispose();
                    throw new SceneFileException(file, $"is {mask.Lines}×{mask.Samples} pixels but the spectral image is {image.Lines}×{image.Samples}.");
                }
                masks.Add(mask);
                names.Add(layer);
            }
            return new EnmapScene
            {
                Path = spectral, Lines = image.Lines, Samples = image.Samples, Bands = image.Bands, DataType = image.DataType, Interleave = image.Interleave,
                Metadata = image.Metadata with
                {
                    Wavelengths = bands.Wavelengths, Fwhm = bands.Fwhm, GoodBands = bands.Good,
                    ReflectanceScale = bands.Scale ?? image.Metadata.ReflectanceScale, NoDataValue = image.Metadata.NoDataValue ?? -32768,
                },
                image = image, masks = masks, MaskNames = names,
            };
        }
        catch
        {
            image.Dispose();
            foreach (var m in masks) m.Dispose();
            throw;
        }
    }

    sealed record BandInfo(double[] Wavelengths, double[] Fwhm, bool[] Good, double? Scale);

    static BandInfo ReadBands(string path, int bands)
    {
        XElement root;
        try { root = XElement.Load(path); }
        catch (XmlException e) { throw new SceneFileException(path, $"is not valid XML: {e.Message}", e); }
        double Number(XElement band, string name)
        {
            var text = band.Element(name)?.Value.Trim();
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                ? v : throw new SceneFileException(path, $"band {(string?)band.Attribute("number") ?? "?"} has no numeric <{name}> (found '{text}').");
        }
        var characterisation = root.Element("specific")?.Element("bandCharacterisation")?.Elements("bandID").ToList()
                               ?? throw new SceneFileException(path, "has no specific/bandCharacterisation/bandID elements; is it an EnMAP L2A METADATA.XML?");
        if (characterisation.Count != bands)
            throw new SceneFileException(path, $"describes {characterisation.Count} bands but the spectral image has {bands}.");
        var wavelengths = characterisation.Select(b => Number(b, "wavelengthCenterOfBand")).ToArray();
        var fwhm = characterisation.Select(b => Number(b, "FWHMOfBand")).ToArray();
        var gains = characterisation.Select(b => Number(b, "GainOfBand")).ToArray();
        var offsets = characterisation.Select(b => Number(b, "OffsetOfBand")).ToArray();
        var good = Enumerable.Repeat(true, bands).ToArray();
        var statistics = root.Element("product")?.Element("bandStatistics")?.Elements("bandID").ToList();
        if (statistics is { Count: > 0 } && statistics.Count == bands)
            for (int b = 0; b < bands; b++)
                if (Number(statistics[b], "stdDeviation") == 0 && Number(statistics[b], "mean") <= -999999) good[b] = false;
        // One gain for every band with zero offset is a plain reflectance scale (1/gain, e.g. 10000).
        double? scale = gains.All(g => g == gains[0]) && gains[0] > 0 && offsets.All(o => o == 0) ? 1 / gains[0] : null;
        if (scale is null && gains.Any(g => g != gains[0]))
            throw new SceneFileException(path, "gives different gains per band; Karma applies one reflectance scale. Convert the product to reflectance first.");
        return new BandInfo(wavelengths, fwhm, good, scale);
    }

    /// <inheritdoc/>
    protected override void ReadWindowCore(int row, int col, int rows, int cols, ReadOnlySpan<int> bands, Span<float> destination) =>
        image.ReadWindow(row, col, rows, cols, bands, destination);

    /// <inheritdoc/>
    protected override double[] ReadPixelCore(int row, int col) => image.ReadPixel(row, col);

    /// <inheritdoc/>
    public override bool HasQualityMask => masks.Count > 0;

    /// <inheritdoc/>
    protected override void ReadQualityMaskCore(int row, int col, int rows, int cols, Span<bool> flagged)
    {
        var values = new float[rows * cols];
        foreach (var mask in masks)
        {
            mask.ReadWindow(row, col, rows, cols, [0], values);
            for (int p = 0; p < values.Length; p++) if (values[p] != 0) flagged[p] = true;
        }
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        image.Dispose();
        foreach (var m in masks) m.Dispose();
    }
}
