using Karma.Data;

namespace Karma.Tests.Data;

public class BandDescriptionTests
{
    [Fact]
    public void Even_ranges_give_centres_and_widths()
    {
        var b = BandDescription.Parse("400:1000", 7, "s.mat");
        Assert.Equal([400, 500, 600, 700, 800, 900, 1000], b.Centres);
        Assert.All(b.Fwhm, w => Assert.Equal(100, w, 9));                       // from the spacing
        Assert.Contains("estimated", b.Source);
        var w = BandDescription.Parse("430:860:4", 103, "s.mat");
        Assert.All(w.Fwhm, x => Assert.Equal(4, x));
        Assert.Equal(860, w.Centres[^1], 9);
    }

    [Fact]
    public void Wavelength_files_take_a_centre_per_line_an_optional_width_micrometres_and_comments()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("nm.txt"), "wavelength,fwhm\n# measured\n400.5, 10\n410.5,11 # noisy\n\n420.5\t12\n");
        var b = BandDescription.Parse(dir.File("nm.txt"), 3, "s.mat");
        Assert.Equal([400.5, 410.5, 420.5], b.Centres);
        Assert.Equal([10.0, 11, 12], b.Fwhm);
        File.WriteAllText(dir.File("um.txt"), "0.4\n0.5\n0.6\n");
        Assert.Equal([400.0, 500, 600], BandDescription.Parse(dir.File("um.txt"), 3, "s.mat").Centres.Select(c => Math.Round(c, 9)));

        var count = Assert.ThrowsAny<KarmaException>(() => BandDescription.Parse(dir.File("nm.txt"), 4, "s.mat"));
        Assert.Contains("3 wavelengths", count.Message);
        Assert.Contains("s.mat has 4 bands", count.Message);
        File.WriteAllText(dir.File("bad.txt"), "400\nfour hundred ten\n420\n");
        var garbage = Assert.ThrowsAny<KarmaException>(() => BandDescription.Parse(dir.File("bad.txt"), 3, "s.mat"));
        Assert.StartsWith(dir.File("bad.txt"), garbage.Message);
        Assert.Contains("line 2", garbage.Message);
        File.WriteAllText(dir.File("some.txt"), "400, 10\n410\n420, 10\n");
        Assert.Contains("FWHM on 2 of 3", Assert.ThrowsAny<KarmaException>(() => BandDescription.Parse(dir.File("some.txt"), 3, "s.mat")).Message);
        File.WriteAllText(dir.File("nan.txt"), "400\nNaN\n420\n");
        Assert.StartsWith(dir.File("nan.txt"), Assert.ThrowsAny<KarmaException>(() => BandDescription.Parse(dir.File("nan.txt"), 3, "s.mat")).Message);
    }

    [Fact]
    public void Sensor_tables_match_the_band_count_a_known_subset_or_given_indices()
    {
        var enmap = BandDescription.Parse("enmap", 224, "s.tif");
        Assert.Equal(418.24, enmap.Centres[0], 2);
        Assert.Single(enmap.Overlaps());
        var salinas = BandDescription.Parse("aviris-classic", 204, "salinas.mat");
        Assert.Contains("salinas-204", salinas.Source);
        Assert.DoesNotContain(salinas.Centres, c => c > 1360 && c < 1405);     // bands 108–112 (1363–1403 nm) removed
        var picked = BandDescription.Parse("aviris-classic[1-10,20-29]", 20, "s.mat");
        Assert.Equal(20, picked.Count);
        var unknown = Assert.ThrowsAny<KarmaException>(() => BandDescription.Parse("aviris-classic", 191, "abu.mat"));
        Assert.Contains("191 bands", unknown.Message);
        Assert.Contains("aviris-classic[FIRST-LAST", unknown.Message);
        Assert.Contains("pick 20", Assert.ThrowsAny<KarmaException>(() => BandDescription.Parse("aviris-classic[1-20]", 19, "s.mat")).Message);
        Assert.ThrowsAny<KarmaException>(() => BandDescription.Parse("aviris-classic[5-3]", 1, "s.mat"));
        Assert.Contains("neither", Assert.ThrowsAny<KarmaException>(() => BandDescription.Parse("no-such-sensor", 10, "s.mat")).Message);
        foreach (var table in SensorTables.All) Assert.Equal(table.Bands.Count, BandDescription.Parse(table.Name, table.Bands.Count, "s").Count);
    }

    [Fact]
    public void A_description_after_the_scene_path_is_split_off_only_when_it_reads_as_one()
    {
        Assert.Equal(("a.mat:x", "aviris-classic"), BandDescription.Split("a.mat:x@aviris-classic"));
        Assert.Equal(("a.mat", "400:900:5"), BandDescription.Split("a.mat@400:900:5"));
        Assert.Equal(("/data/user@host/scene.hdr", (string?)null), BandDescription.Split("/data/user@host/scene.hdr"));
        using var dir = new TempDir();
        var values = Enumerable.Range(0, 4 * 4 * 6).Select(i => (float)i).ToArray();
        SceneWriter.Write(dir.File("s.hdr"), 4, 4, 6, values);
        using var scene = HyperspectralScene.Open(dir.File("s.hdr") + "@500:1000");
        Assert.Equal(1000, scene.Spectral!.Centres[^1]);
        Assert.Contains("range 500:1000", scene.Spectral.Source);
        var e = Assert.ThrowsAny<KarmaException>(() => HyperspectralScene.Open(dir.File("s.hdr") + "@enmap"));
        Assert.Contains("6 bands", e.Message);
    }
}
