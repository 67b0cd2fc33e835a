using System.Globalization;
using BitMiracle.LibTiff.Classic;

namespace Karma.Data;

/// <summary>
/// Writes a float32 GeoTIFF as GDAL would: one band per plane, Deflate with the floating-point predictor,
/// geotransform as tie point + pixel scale, an EPSG code as GeoKeys, band wavelengths/FWHM/bad bands/names
/// in GDAL's metadata tag and no-data in GDAL's no-data tag, so GDAL, QGIS and the EnMAP-Box read it fully.
/// The TIFF is encoded to a temporary file and renamed into place.
/// </summary>
public sealed class GeoTiffWriter : SceneWriter
{
    const TiffTag ModelPixelScale = (TiffTag)33550, ModelTiepoint = (TiffTag)33922, GeoKeyDirectory = (TiffTag)34735;
    const TiffTag GdalMetadata = (TiffTag)42112, GdalNoData = (TiffTag)42113;

    static readonly TiffFieldInfo[] GeoFields =
    [
        new(ModelPixelScale, -1, -1, TiffType.DOUBLE, FieldBit.Custom, false, true, "ModelPixelScaleTag"),
        new(ModelTiepoint, -1, -1, TiffType.DOUBLE, FieldBit.Custom, false, true, "ModelTiepointTag"),
        new(GeoKeyDirectory, -1, -1, TiffType.SHORT, FieldBit.Custom, false, true, "GeoKeyDirectoryTag"),
        new(GdalMetadata, -1, -1, TiffType.ASCII, FieldBit.Custom, true, false, "GDALMetadata"),
        new(GdalNoData, -1, -1, TiffType.ASCII, FieldBit.Custom, true, false, "GDALNoDataValue"),
    ];

    static readonly Tiff.TiffExtendProc? Parent;

    // LibTiff writes only tags it knows: register the GeoTIFF and GDAL tags once, chaining any earlier extender.
    static GeoTiffWriter() => Parent = Tiff.SetTagExtender(Extend);

    static void Extend(Tiff tiff)
    {
        tiff.MergeFieldInfo(GeoFields, GeoFields.Length);
        Parent?.Invoke(tiff);
    }

    /// <summary>Starts a GeoTIFF at <paramref name="path"/>.</summary>
    public GeoTiffWriter(string path, int lines, int samples, int bands, SceneMetadata? metadata = null)
        : base(path, lines, samples, bands, metadata) { }

    /// <inheritdoc/>
    protected override void CommitCore()
    {
        int rowsPerStrip = Math.Clamp((1 << 16) / (Samples * sizeof(float)), 1, Lines);
        string temp = OutputPath + $".tiff-{Environment.ProcessId}";
        try
        {
            using (var tiff = TiffErrors.Create(temp))
            {
                tiff.SetField(TiffTag.IMAGEWIDTH, Samples);
                tiff.SetField(TiffTag.IMAGELENGTH, Lines);
                tiff.SetField(TiffTag.SAMPLESPERPIXEL, Bands);
                tiff.SetField(TiffTag.BITSPERSAMPLE, 32);
                tiff.SetField(TiffTag.SAMPLEFORMAT, SampleFormat.IEEEFP);
                tiff.SetField(TiffTag.PLANARCONFIG, Bands > 1 ? PlanarConfig.SEPARATE : PlanarConfig.CONTIG);
                tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
                tiff.SetField(TiffTag.COMPRESSION, Compression.ADOBE_DEFLATE);
                tiff.SetField(TiffTag.PREDICTOR, Predictor.FLOATINGPOINT);
                tiff.SetField(TiffTag.ROWSPERSTRIP, rowsPerStrip);
                if (Bands > 1) tiff.SetField(TiffTag.EXTRASAMPLES, Bands - 1, new short[Bands - 1]);
                WriteGeoTags(tiff);
                var strip = new byte[rowsPerStrip * Samples * sizeof(float)];
                int stripsPerBand = (Lines + rowsPerStrip - 1) / rowsPerStrip;
                for (int b = 0; b < Bands; b++)
                    for (int s = 0; s < stripsPerBand; s++)
                    {
                        int rows = Math.Min(rowsPerStrip, Lines - s * rowsPerStrip);
                        Pixels.Position = ((long)b * Lines + s * rowsPerStrip) * Samples * sizeof(float);
                        Pixels.ReadExactly(strip, 0, rows * Samples * sizeof(float));
                        if (tiff.WriteEncodedStrip(b * stripsPerBand + s, strip, rows * Samples * sizeof(float)) < 0)
                            throw new SceneFileException(OutputPath, $"could not be encoded ({TiffErrors.Last ?? "unknown error"}).");
                    }
            }
            File.Move(temp, OutputPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
            Pixels.Dispose();
            File.Delete(PixelsPath);
        }
    }

    void WriteGeoTags(Tiff tiff)
    {
        if (Metadata.GeoTransform is { } gt)
        {
            if (gt[2] != 0 || gt[4] != 0)
                throw new SceneFileException(OutputPath, "has a rotated geotransform, which the GeoTIFF writer does not support; write ENVI instead.");
            tiff.SetField(ModelPixelScale, 3, new[] { gt[1], -gt[5], 0.0 });
            tiff.SetField(ModelTiepoint, 6, new[] { 0.0, 0.0, 0.0, gt[0], gt[3], 0.0 });
        }
        var keys = new List<ushort> { 1, 1, 0, 0 };
        void Key(ushort id, ushort value) => keys.AddRange([id, 0, 1, value]);
        if (Metadata.CoordinateSystem is { } crs && crs.StartsWith("EPSG:", StringComparison.OrdinalIgnoreCase)
            && ushort.TryParse(crs[5..], NumberStyles.Integer, CultureInfo.InvariantCulture, out ushort epsg))
        {
            // UTM and other projected codes lie in 2000–32767 except geographic 4000–4999.
            bool geographic = epsg is >= 4000 and < 5000;
            Key(1024, geographic ? (ushort)2 : (ushort)1);
            Key(1025, 1);
            Key(geographic ? (ushort)2048 : (ushort)3072, epsg);
        }
        else if (Metadata.GeoTransform is not null)
            Key(1025, 1);
        if (keys.Count > 4)
        {
            keys[3] = (ushort)((keys.Count - 4) / 4);
            tiff.SetField(GeoKeyDirectory, keys.Count, keys.Select(k => (short)k).ToArray());
        }
        if (GdalBandMetadata.Format(Metadata, Bands) is { } xml) tiff.SetField(GdalMetadata, xml);
        if (Metadata.NoDataValue is { } nd) tiff.SetField(GdalNoData, nd.ToString("R", CultureInfo.InvariantCulture));
    }
}
