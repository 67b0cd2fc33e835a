using Karma.Data;
using Karma.Evaluation;
using Karma.Model;
using Karma.Reporting;

namespace Karma.Tests.Data;

/// <summary>Real sensors' band centres go backwards where spectrometers overlap; nothing that relies on band order may break.</summary>
public class SpectrometerOverlapTests
{
    const string Aviris = "data/aviris_misc/aviris_224_with_wavelengths.mat:hsi_img";
    const string Enmap = "data/enmap_potsdam/images/enmap_potsdam_tile_128_0.tif";

    public SpectrometerOverlapTests() => Karma.Runtime.TorchRuntime.EnsureLoaded();

    static SpectralBands Bands(string relative)
    {
        var (file, variable) = MatScene.Split(relative);
        using var scene = HyperspectralScene.Open(Shared.Require(file) + (variable is null ? "" : ":" + variable));
        return scene.Spectral!;
    }

    static float[] Smooth(double[] centres) => centres.Select(w => (float)(0.3 + 0.1 * Math.Sin(w / 170.0) + 0.02 * Math.Cos(w / 23.0))).ToArray();

    [Fact]
    public void The_real_AVIRIS_and_EnMAP_tables_overlap_where_their_spectrometers_meet()
    {
        var aviris = Bands(Aviris);
        Assert.Equal(["0..32", "32..96", "96..160", "160..224"], aviris.Spectrometers().Select(r => $"{r.Start.Value}..{r.End.Value}"));
        Assert.Equal(3, aviris.Overlaps().Count);
        var enmap = Bands(Enmap);
        var overlap = Assert.Single(enmap.Overlaps());
        Assert.Equal(91, overlap.Upper.Start.Value);                     // bands 91 → 92 (1-based): 993.1 → 902.3 nm
        Assert.Equal(902.257, overlap.From, 3);
        Assert.Equal(993.083, overlap.To, 3);
    }

    [Theory]
    [InlineData(Aviris, Enmap, false)]
    [InlineData(Aviris, Enmap, true)]
    [InlineData(Enmap, Aviris, false)]
    [InlineData(Enmap, Aviris, true)]
    public void Resampling_a_shuffled_band_order_equals_resampling_the_sorted_one(string from, string to, bool gaussian)
    {
        var source = Bands(from);
        var target = Bands(to);
        var inside = target.Centres.Select((c, i) => (c, i)).Where(x => x.c >= source.Centres.Min() && x.c <= source.Centres.Max()).Select(x => x.i).ToArray();
        target = target.Select(inside);
        double[]? fwhm = gaussian ? target.Fwhm : null;
        var spectrum = Smooth(source.Centres);

        var sortedOrder = source.SortedOrder();
        var shuffled = Enumerable.Range(0, source.Count).ToArray();
        new Random(7).Shuffle(shuffled);
        float[] Resample(int[] order)
        {
            var resampler = new SpectralResampler(order.Select(i => source.Centres[i]).ToArray(), target.Centres, fwhm, order.Select(i => source.Fwhm[i]).ToArray());
            var output = new float[target.Count];
            resampler.Apply(order.Select(i => spectrum[i]).ToArray(), output, 1);
            return output;
        }
        var fromSorted = Resample(sortedOrder);
        Assert.Equal(fromSorted, Resample(shuffled));
        Assert.Equal(fromSorted, Resample(Enumerable.Range(0, source.Count).ToArray()));   // the file's own order
        // And the result is right: a smooth spectrum comes through within interpolation error (away from EnMAP's 1760–1940 nm gap).
        var truth = Smooth(target.Centres);
        var covered = Enumerable.Range(0, target.Count).Where(i => source.Centres.Min(c => Math.Abs(c - target.Centres[i])) < 10).ToArray();
        Assert.True(covered.Length > 0.85 * target.Count);
        Assert.All(covered, i => Assert.Equal(truth[i], fromSorted[i], 0.01));
    }

    [Fact]
    public void Water_vapour_and_range_selection_drop_the_same_bands_whichever_order_they_are_stored_in()
    {
        using var dir = new TempDir();
        var aviris = Bands(Aviris);
        var permutation = Enumerable.Range(0, aviris.Count).ToArray();
        new Random(3).Shuffle(permutation);
        double[] Kept(int[] order, BandSelection selection)
        {
            string path = dir.File($"scene-{Guid.NewGuid():N}.hdr");
            var values = new float[order.Length * 4];
            for (int b = 0; b < order.Length; b++) for (int p = 0; p < 4; p++) values[b * 4 + p] = 0.1f + b * 1e-3f;
            SceneWriter.Write(path, 2, 2, order.Length, values, new SceneMetadata { Wavelengths = order.Select(i => aviris.Centres[i]).ToArray() });
            using var scene = HyperspectralScene.Open(path);
            return selection.Choose(scene).Select(b => scene.Metadata.Wavelengths![b]).Order().ToArray();
        }
        var identity = Enumerable.Range(0, aviris.Count).ToArray();
        foreach (var selection in new[] { BandSelection.WithoutWaterVapour, new BandSelection { MinWavelength = 500, MaxWavelength = 1300 } })
        {
            var inOrder = Kept(identity, selection);
            Assert.Equal(inOrder, Kept(permutation, selection));
            Assert.True(inOrder.Length < aviris.Count);
        }
    }

    [Theory]
    [InlineData(OverlapPolicy.Lower, 9)]
    [InlineData(OverlapPolicy.Upper, 12)]
    public void Dropping_one_side_of_the_EnMAP_overlap_leaves_increasing_centres(OverlapPolicy policy, int dropped)
    {
        using var scene = HyperspectralScene.Open(Shared.Require(Enmap));
        var kept = new BandSelection { Overlap = policy }.Choose(scene);
        var all = new BandSelection().Choose(scene);
        Assert.Equal(all.Length - dropped, kept.Length);
        var centres = kept.Select(b => scene.Metadata.Wavelengths![b]).ToArray();
        Assert.All(Enumerable.Range(1, centres.Length - 1), i => Assert.True(centres[i] > centres[i - 1]));
    }

    [Fact]
    public void Plots_draw_one_increasing_line_per_spectrometer()
    {
        var aviris = Bands(Aviris);
        var runs = Plots.LineRuns(aviris.Centres);
        Assert.Equal(4, runs.Count);
        Assert.Equal(aviris.Count, runs.Sum(r => r.Length));
        Assert.All(runs, run => Assert.All(Enumerable.Range(1, run.Length - 1), i => Assert.True(aviris.Centres[run[i]] > aviris.Centres[run[i - 1]])));
        using var dir = new TempDir();
        Plots.Spectra(dir.File("s.png"), aviris.Centres, [("smooth", Smooth(aviris.Centres).Select(v => (double)v).ToArray())], "AVIRIS");
        Assert.True(new FileInfo(dir.File("s.png")).Length > 1000);
    }

    [Fact]
    public void Unusable_band_centres_are_refused_with_the_file_named()
    {
        var e = Assert.ThrowsAny<KarmaException>(() => new SpectralResampler([400, 410, 410, 420], [405], context: "scene.hdr"));
        Assert.StartsWith("scene.hdr: ", e.Message);
        Assert.Contains("410", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        // Widths that tell the two apart make them usable: interpolation averages them.
        var told = new SpectralResampler([400, 410, 410, 420], [410], sourceFwhm: [10, 10, 5, 10], context: "scene.hdr");
        var output = new float[1];
        told.Apply([0f, 1f, 3f, 0f], output, 1);
        Assert.Equal(2f, output[0]);
        e = Assert.ThrowsAny<KarmaException>(() => new SpectralResampler([400, double.NaN, 420], [405], context: "scene.hdr"));
        Assert.StartsWith("scene.hdr: ", e.Message);
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void A_model_trained_on_EnMAP_bands_evaluates_the_AVIRIS_scene_through_resampling()
    {
        var enmap = Bands(Enmap);
        using var enmapScene = HyperspectralScene.Open(Shared.Require(Enmap));
        var kept = new BandSelection().Choose(enmapScene);
        var modelBands = enmap.Select(kept);
        var config = TestConfigs.Micro with { Bands = modelBands.Count };
        using var model = new KarmaModel(config);
        var meta = new ModelCheckpoint.Metadata(config, modelBands.Centres, model.BandMean, model.BandStd, Tiling: new TilingOptions { TileSize = 16 });
        var (tiles, resampled) = HeldOutTiles.For(meta, [Shared.Require("data/aviris_misc/aviris_224_with_wavelengths.mat") + ":hsi_img"]);
        Assert.True(resampled);
        Assert.Equal(modelBands.Count, Assert.Single(tiles).Bands);
        var metrics = ReconstructionMetrics.Evaluate(model, tiles);
        Assert.True(double.IsFinite(metrics.Psnr) && double.IsFinite(metrics.SamDegrees));
    }
}
