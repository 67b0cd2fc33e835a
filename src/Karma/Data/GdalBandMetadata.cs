using System.Globalization;
using System.Security;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Karma.Data;

/// <summary>
/// GDAL's per-band metadata as it sits in a GeoTIFF (tag 42112, <c>&lt;GDALMetadata&gt;</c> XML):
/// <c>wavelength</c>, <c>wavelength_units</c>, <c>fwhm</c>, <c>bbl</c>, the band <c>SCALE</c> and
/// <c>DESCRIPTION</c>. This is how GDAL, the EnMAP-Box and QGIS carry spectral information in a TIFF.
/// </summary>
static class GdalBandMetadata
{
    /// <summary>Adds what <paramref name="xml"/> says about the bands to <paramref name="metadata"/>.</summary>
    public static SceneMetadata Apply(SceneMetadata metadata, string xml, int bands, string path)
    {
        XElement root;
        try { root = XElement.Parse(xml); }
        catch (XmlException e) { throw new SceneFileException(path, $"has GDAL metadata (TIFF tag 42112) that is not valid XML: {e.Message}", e); }
        var items = new Dictionary<string, string?[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in root.Elements("Item"))
        {
            if (!int.TryParse((string?)item.Attribute("sample"), out int band) || band < 0 || band >= bands) continue;
            string name = (string?)item.Attribute("name") ?? "";
            if (!items.TryGetValue(name, out var values)) items[name] = values = new string?[bands];
            values[band] = item.Value.Trim();
        }
        double[]? Numbers(string name)
        {
            if (!items.TryGetValue(name, out var v) || v.Any(s => s is null)) return null;
            var numbers = new double[bands];
            for (int b = 0; b < bands; b++)
                if (!double.TryParse(v[b], NumberStyles.Float, CultureInfo.InvariantCulture, out numbers[b]))
                    throw new SceneFileException(path, $"has GDAL band metadata '{name}' = '{v[b]}' for band {b + 1}, which is not a number.");
            return numbers;
        }
        string units = items.TryGetValue("wavelength_units", out var u) ? (u[0] ?? "").ToLowerInvariant() : "";
        var wavelengths = Numbers("wavelength");
        double toNm = units.StartsWith("micro") || units is "um" or "µm" ? 1000
                    : units.StartsWith("nano") || units == "nm" ? 1
                    : wavelengths is { Length: > 0 } && wavelengths.Max() < 100 ? 1000 : 1;
        var scale = Numbers("SCALE");
        bool oneScale = scale is { Length: > 0 } && scale.All(s => s == scale[0]) && scale[0] > 0;
        return metadata with
        {
            Wavelengths = wavelengths?.Select(w => w * toNm).ToArray() ?? metadata.Wavelengths,
            Fwhm = Numbers("fwhm")?.Select(w => w * toNm).ToArray() ?? metadata.Fwhm,
            GoodBands = Numbers("bbl")?.Select(v => v != 0).ToArray() ?? metadata.GoodBands,
            ReflectanceScale = oneScale && scale![0] != 1 ? 1 / scale[0] : metadata.ReflectanceScale,
            BandNames = items.TryGetValue("DESCRIPTION", out var d) && d.All(s => s is not null) ? d.Select(s => s!).ToArray() : metadata.BandNames,
        };
    }

    /// <summary>The XML GDAL would write for <paramref name="metadata"/>'s band information, or null when there is none.</summary>
    public static string? Format(SceneMetadata metadata, int bands)
    {
        var xml = new StringBuilder("<GDALMetadata>\n");
        bool any = false;
        void Item(string name, int band, string value, string? role = null)
        {
            any = true;
            xml.Append($"  <Item name=\"{name}\" sample=\"{band}\"{(role is null ? "" : $" role=\"{role}\"")}>{SecurityElement.Escape(value)}</Item>\n");
        }
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        for (int b = 0; b < bands; b++)
        {
            if (metadata.Wavelengths is { } wl) { Item("wavelength", b, F(wl[b])); Item("wavelength_units", b, "Nanometers"); }
            if (metadata.Fwhm is { } fw) Item("fwhm", b, F(fw[b]));
            if (metadata.GoodBands is { } good) Item("bbl", b, good[b] ? "1" : "0");
            if (metadata.BandNames is { } names) Item("DESCRIPTION", b, names[b], "description");
            if (metadata.ReflectanceScale is { } scale) { Item("SCALE", b, F(1 / scale), "scale"); Item("OFFSET", b, "0", "offset"); }
        }
        return any ? xml.Append("</GDALMetadata>\n").ToString() : null;
    }
}
