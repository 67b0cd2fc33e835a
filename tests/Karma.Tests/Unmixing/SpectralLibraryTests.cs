using Karma.Reporting;
using Karma.Unmixing;

namespace Karma.Tests.Unmixing;

public class SpectralLibraryTests
{
    [Fact]
    public void Reads_an_ENVI_spectral_library_in_micrometres_and_integer_reflectance()
    {
        var library = SpectralLibrary.Read(Shared.Require("data/spectral_libraries/library_berlin.sli"));
        Assert.Equal(75, library.Names.Length);
        Assert.Equal(177, library.Wavelengths.Length);
        Assert.InRange(library.Wavelengths[0], 400, 500);     // micrometres became nanometres
        Assert.Equal("red clay tile 1", library.Names[0]);
        Assert.All(library.Spectra.SelectMany(s => s), v => Assert.InRange(v, -0.05, 1.5)); // ×10000 undone
    }

    [Fact]
    public void CSV_libraries_resample_and_match_endmembers_by_spectral_angle()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("lib.csv"), "wavelength,flat,ramp\n400,0.3,0.1\n500,0.3,0.2\n600,0.3,0.3\n700,0.3,0.4\n");
        var library = SpectralLibrary.Read(dir.File("lib.csv"));
        var resampled = library.ResampleTo([450, 650]);
        Assert.Equal(0.15, resampled[0, 1], 6);
        Assert.Equal(0.35, resampled[1, 1], 6);
        // Two estimated endmembers: a scaled ramp and a near-flat spectrum.
        var result = new UnmixingResult(new double[,] { { 0.3, 0.5 }, { 0.7, 0.51 } }, [], [], 0, 0, "test");
        var matches = UnmixingReport.MatchLibrary(result, library, [450, 650]);
        Assert.Equal(["ramp", "flat"], matches.Select(m => m.Name));
        Assert.Equal(0, matches[0].SadDegrees, 4); // float resampling
        File.WriteAllText(dir.File("bad.csv"), "wavelength,a\n400,x\n500,1\n");
        Assert.Contains("line 2", Assert.ThrowsAny<KarmaException>(() => SpectralLibrary.Read(dir.File("bad.csv"))).Message);
    }
}
