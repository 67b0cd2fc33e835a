using BitMiracle.LibTiff.Classic;
using PureHDF;
using PureHDF.Filters;
using PureHDF.VOL.Native;

namespace Karma.Bench;

/// <summary>Test scenes in layouts Karma's own writers do not produce: LZW GeoTIFF and MATLAB v7.3.</summary>
static class BenchFiles
{
    /// <summary>A float32 GeoTIFF, LZW with the floating-point predictor, one band per plane in 8-row strips (GDAL's choices for COMPRESS=LZW PREDICTOR=3).</summary>
    public static void WriteLzwTiff(string path, int rows, int cols, int bands, float[] cube)
    {
        using var tiff = Tiff.Open(path, "w") ?? throw new IOException($"cannot create {path}");
        const int rowsPerStrip = 8;
        tiff.SetField(TiffTag.IMAGEWIDTH, cols);
        tiff.SetField(TiffTag.IMAGELENGTH, rows);
        tiff.SetField(TiffTag.SAMPLESPERPIXEL, bands);
        tiff.SetField(TiffTag.BITSPERSAMPLE, 32);
        tiff.SetField(TiffTag.SAMPLEFORMAT, SampleFormat.IEEEFP);
        tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
        tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.SEPARATE);
        tiff.SetField(TiffTag.COMPRESSION, Compression.LZW);
        tiff.SetField(TiffTag.PREDICTOR, 3);
        tiff.SetField(TiffTag.ROWSPERSTRIP, rowsPerStrip);
        int stripsPerBand = (rows + rowsPerStrip - 1) / rowsPerStrip;
        var bytes = new byte[rowsPerStrip * cols * 4];
        for (int b = 0; b < bands; b++)
            for (int s = 0; s < stripsPerBand; s++)
            {
                int n = Math.Min(rowsPerStrip, rows - s * rowsPerStrip) * cols;
                Buffer.BlockCopy(cube, ((b * rows + s * rowsPerStrip) * cols) * 4, bytes, 0, n * 4);
                if (tiff.WriteEncodedStrip(b * stripsPerBand + s, bytes, n * 4) < 0) throw new IOException($"cannot write {path}");
            }
    }

    /// <summary>
    /// <paramref name="cube"/> ([band][row][col]) as MATLAB <c>save -v7.3</c> stores a rows × cols × bands single array:
    /// HDF5 after a 512-byte MATLAB header, dimensions reversed, deflated chunks 64 × 100 × 2 (bands × cols × rows, clipped).
    /// Written with the HDF5 library through h5py (bench/reference/write_v73.py) when it is installed, since that is the
    /// library MATLAB writes with (B-tree v1 chunk indexes); otherwise with PureHDF's writer, whose chunk indexes Karma
    /// leaves to PureHDF to read. Returns which wrote it.
    /// </summary>
    public static string WriteMatlabV73(string path, int rows, int cols, int bands, float[] cube)
    {
        string raw = path + ".raw";
        try
        {
            File.WriteAllBytes(raw, System.Runtime.InteropServices.MemoryMarshal.AsBytes(cube.AsSpan()).ToArray());
            var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true };
            foreach (var a in new[] { Path.Combine(Benchmarks.RepositoryRoot(), "bench", "reference", "write_v73.py"), raw, path, $"{rows}", $"{cols}", $"{bands}" }) start.ArgumentList.Add(a);
            using var process = System.Diagnostics.Process.Start(start)!;
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode == 0) return "h5py (HDF5 library)";
        }
        catch (System.ComponentModel.Win32Exception) { }
        finally { File.Delete(raw); }
        WriteMatlabV73WithPureHdf(path, rows, cols, bands, cube);
        return "PureHDF writer";
    }

    static void WriteMatlabV73WithPureHdf(string path, int rows, int cols, int bands, float[] cube)
    {
        // MATLAB's column-major (row, col, band) is HDF5's row-major [band][col][row].
        var stored = new float[cube.Length];
        for (int b = 0; b < bands; b++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    stored[(b * cols + c) * rows + r] = cube[(b * rows + r) * cols + c];
        var dataset = new H5Dataset(stored, chunks: [(uint)Math.Min(64, bands), (uint)Math.Min(100, cols), (uint)Math.Min(2, rows)],
                                    fileDims: [(ulong)bands, (ulong)cols, (ulong)rows],
                                    datasetCreation: new H5DatasetCreation(Filters: [new H5Filter(DeflateFilter.Id, new() { [DeflateFilter.COMPRESSION_LEVEL] = 1 })]));
        dataset.Attributes["MATLAB_class"] = "single";
        new H5File { ["cube"] = dataset }.Write(path, new H5WriteOptions(UserBlockSize: 512));
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        var header = System.Text.Encoding.ASCII.GetBytes("MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: Karma.Bench HDF5 schema 1.00 .".PadRight(116));
        file.Write(header);
        file.Write(new byte[8]);
        file.Write([0x00, 0x02, (byte)'I', (byte)'M']);
    }
}
