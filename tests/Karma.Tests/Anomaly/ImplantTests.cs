using Karma.Anomaly;
using Karma.Data;

namespace Karma.Tests.Anomaly;

public class ImplantTests
{
    const int Rows = 60, Cols = 60, Bands = 12, Pixels = Rows * Cols;

    /// <summary>Material A on the left half, B on the right, no noise: every signature and surrounding is exactly known.</summary>
    static float[] TwoMaterials()
    {
        var values = new float[Bands * Pixels];
        for (int b = 0; b < Bands; b++)
            for (int p = 0; p < Pixels; p++) values[b * Pixels + p] = p % Cols < Cols / 2 ? A(b) : B(b);
        return values;
    }

    static float A(int b) => 0.2f + 0.02f * b;
    static float B(int b) => 0.6f - 0.03f * b;

    [Fact]
    public void A_transplant_moves_its_pixels_a_share_f_towards_the_donor_material_and_nothing_else_changes()
    {
        var values = TwoMaterials();
        var result = AnomalyImplant.Implant(values, new bool[Pixels], Bands, Rows, Cols, null, new ImplantOptions { Count = 12, Seed = 3 });
        Assert.Equal(12, result.Targets.Count);
        Assert.Equal(result.Targets.Sum(t => t.Size * t.Size), result.Truth.Count(t => t != 0));
        for (int p = 0; p < Pixels; p++)
            if (result.Truth[p] == 0)
                for (int b = 0; b < Bands; b++) Assert.Equal(values[b * Pixels + p], result.Values[b * Pixels + p]);
        int checkedTargets = 0;
        foreach (var t in result.Targets.Where(t => t.Kind == ImplantKind.Transplant))
        {
            // Only targets whose 4-pixel surroundings lie in one material have an exactly known result.
            bool left = t.Col + t.Size - 1 + 4 < Cols / 2, right = t.Col - 4 >= Cols / 2;
            if (!left && !right) continue;
            bool donorLeft = t.DonorCol < Cols / 2;
            if (donorLeft == left) continue;                 // a donor of the same material would leave the pixel as it was
            for (int b = 0; b < Bands; b++)
            {
                float site = left ? A(b) : B(b), donor = donorLeft ? A(b) : B(b);
                Assert.Equal(site + t.Fraction * (donor - site), result.Values[b * Pixels + t.Row * Cols + t.Col], 5);
            }
            checkedTargets++;
        }
        Assert.True(checkedTargets > 0, "no transplant sat wholly in one material");
    }

    [Fact]
    public void Targets_keep_their_spacing_donors_are_far_and_the_same_seed_gives_the_same_scene()
    {
        var values = TwoMaterials();
        for (int p = 0; p < Pixels; p++) values[p] += 0.01f * (p * 7919 % 101) / 101f;     // some texture in band 0
        var options = new ImplantOptions { Count = 15, Seed = 5, MaxSize = 3 };
        var first = AnomalyImplant.Implant(values, new bool[Pixels], Bands, Rows, Cols, null, options);
        var again = AnomalyImplant.Implant(values, new bool[Pixels], Bands, Rows, Cols, null, options);
        var other = AnomalyImplant.Implant(values, new bool[Pixels], Bands, Rows, Cols, null, options with { Seed = 6 });
        Assert.Equal(first.Values, again.Values);
        Assert.NotEqual(first.Truth, other.Truth);
        static int Gap(int a, int sa, int b, int sb) => Math.Max(0, Math.Max(b - (a + sa - 1), a - (b + sb - 1)));
        foreach (var t in first.Targets)
        {
            Assert.InRange(t.Fraction, options.MinFraction, options.MaxFraction);
            Assert.InRange(t.Size, 1, options.MaxSize);
            Assert.True(Math.Max(Gap(t.Row, t.Size, t.DonorRow, 1), Gap(t.Col, t.Size, t.DonorCol, 1)) >= options.DonorDistance, $"donor of {t} is too close");
            foreach (var u in first.Targets.Where(u => u != t))
                Assert.True(Math.Max(Gap(t.Row, t.Size, u.Row, u.Size), Gap(t.Col, t.Size, u.Col, u.Size)) > options.Spacing, $"{t} and {u} are too close");
        }
        Assert.Contains(first.Targets, t => t.Kind == ImplantKind.Absorption);
        Assert.Contains(first.Targets, t => t.Kind == ImplantKind.Transplant);
    }

    [Fact]
    public void No_data_pixels_and_bad_bands_are_never_used_or_touched()
    {
        var values = TwoMaterials();
        var invalid = new bool[Pixels];
        for (int p = 0; p < Pixels; p++) invalid[p] = p / Cols % 3 == 0;                 // every third row is no-data …
        for (int b = 0; b < Bands; b++)
            for (int p = 0; p < Pixels; p++) if (invalid[p]) values[b * Pixels + p] = float.NaN;   // … and holds NaN
        for (int p = 0; p < Pixels; p++) values[4 * Pixels + p] = 1e6f;                    // band 4 is bad and absurd
        var good = Enumerable.Range(0, Bands).Select(b => b != 4).ToArray();
        var result = AnomalyImplant.Implant(values, invalid, Bands, Rows, Cols, good, new ImplantOptions { Count = 10, Seed = 1, MaxSize = 2 });
        Assert.NotEmpty(result.Targets);
        for (int p = 0; p < Pixels; p++)
        {
            if (invalid[p]) Assert.Equal(0, result.Truth[p]);
            Assert.Equal(values[4 * Pixels + p], result.Values[4 * Pixels + p]);
            if (result.Truth[p] == 0) continue;
            // Had a NaN neighbour, donor or band 4 entered a signature or a surrounding, this value would be NaN or huge.
            for (int b = 0; b < Bands; b++)
                if (b != 4) Assert.InRange(result.Values[b * Pixels + p], -1f, 2f);
        }
        Assert.Throws<InvalidSettingException>(() => AnomalyImplant.Implant(values, invalid, Bands, Rows, Cols, good, new ImplantOptions { MinFraction = 0 }));
        Assert.Throws<InvalidSettingException>(() => AnomalyImplant.Implant(values, invalid, Bands, Rows, Cols, good, new ImplantOptions { Count = 0 }));
        Assert.Throws<InvalidSettingException>(() => AnomalyImplant.Implant(values, invalid, Bands, Rows, Cols, good, new ImplantOptions { MaxSize = int.MaxValue }));
        Assert.Throws<ArgumentException>(() => AnomalyImplant.Implant(values, invalid, Bands, Rows, Cols, good[..5], new ImplantOptions()));
    }

    [Fact]
    public void An_absorption_target_only_darkens_its_material_with_one_dip_of_the_stated_depth()
    {
        // One material everywhere: a site's surroundings and the donor's signature are the same spectrum s, so an
        // absorption target gives y = s − f·depth·g(band)·s, with g a Gaussian of peak 1.
        var values = new float[Bands * Pixels];
        for (int b = 0; b < Bands; b++) Array.Fill(values, A(b), b * Pixels, Pixels);
        var result = AnomalyImplant.Implant(values, new bool[Pixels], Bands, Rows, Cols, null, new ImplantOptions { Count = 6, Seed = 9 });
        var absorption = result.Targets.Where(t => t.Kind == ImplantKind.Absorption).ToList();
        Assert.NotEmpty(absorption);
        foreach (var t in absorption)
        {
            var relative = Enumerable.Range(0, Bands).Select(b => 1 - result.Values[b * Pixels + t.Row * Cols + t.Col] / (double)A(b)).ToArray();
            Assert.All(relative, r => Assert.True(r >= -1e-6, $"a band got brighter: {r}"));
            int deepest = Array.IndexOf(relative, relative.Max());
            for (int b = 0; b < Bands; b++)                                                    // one dip: falling away on both sides
                Assert.True(b == deepest || relative[b] <= relative[b < deepest ? b + 1 : b - 1] + 1e-6, $"two dips in {string.Join(", ", relative)}");
            Assert.InRange(relative.Max(), 0, t.Fraction * 0.7 + 1e-6);
            Assert.True(relative.Max() > 0.05 * t.Fraction, $"no visible dip: {relative.Max()}");
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(2)]
    [InlineData(0)]
    public void Spacing_is_the_least_number_of_pixels_between_two_targets(int spacing)
    {
        // 1-pixel targets packed as densely as the rule allows: no two closer than spacing + 1 (Chebyshev), and some exactly that close.
        var result = AnomalyImplant.Implant(TwoMaterials(), new bool[Pixels], Bands, Rows, Cols, null,
                                            new ImplantOptions { Count = 400, MaxSize = 1, Spacing = spacing, Seed = 4, DonorDistance = 0 });
        int closest = int.MaxValue;
        foreach (var a in result.Targets)
            foreach (var b in result.Targets.Where(b => b != a))
                closest = Math.Min(closest, Math.Max(Math.Abs(a.Row - b.Row), Math.Abs(a.Col - b.Col)));
        Assert.Equal(spacing + 1, closest);
        Assert.Equal(result.Targets.Count, result.Truth.Sum());
    }

    [Fact]
    public void The_implanted_file_keeps_its_bands_and_no_data_and_its_truth_map_reads_back()
    {
        using var dir = new TempDir();
        var values = TwoMaterials();
        for (int b = 0; b < Bands; b++) values[b * Pixels + 5] = -99;                     // one no-data pixel
        var metadata = new SceneMetadata { Wavelengths = Enumerable.Range(0, Bands).Select(b => 450.0 + 100 * b).ToArray(), NoDataValue = -99, ReflectanceScale = 1 };
        SceneWriter.Write(dir.File("scene.hdr"), Rows, Cols, Bands, values, metadata);
        var options = new ImplantOptions { Count = 8, Seed = 2 };
        var targets = AnomalyImplant.ImplantFile(dir.File("scene.hdr"), dir.File("implanted.hdr"), dir.File("truth.tif"), options);
        using var scene = HyperspectralScene.Open(dir.File("implanted.hdr"));
        Assert.Equal(metadata.Wavelengths, scene.Metadata.Wavelengths);
        Assert.Equal(-99, scene.Metadata.NoDataValue);
        var read = new float[Bands * Pixels];
        scene.ReadWindow(0, 0, Rows, Cols, [], read);
        var invalid = new bool[Pixels];
        invalid[5] = true;
        var expected = AnomalyImplant.Implant(values, invalid, Bands, Rows, Cols, null, options);
        Assert.Equal(expected.Values, read);
        Assert.Equal(expected.Truth, LabelMap.Read(dir.File("truth.tif"), Rows, Cols));
        Assert.Equal(expected.Targets, targets);
        Assert.Equal(0, expected.Truth[5]);
    }
}
