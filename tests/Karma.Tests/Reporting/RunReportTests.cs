using Karma.Experiments;
using Karma.Data;
using Karma.Model;
using Karma.Reporting;
using Karma.Runtime;
using Karma.Training;

namespace Karma.Tests.Reporting;

[Collection(SerialTorchCollection.Name)]
public class RunReportTests
{
    public RunReportTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Report_of_a_comparison_holds_every_section_with_embedded_pictures()
    {
        using var dir = new TempDir();
        string scene = new SceneSimulator { Size = 48, Bands = 24, Endmembers = 4, Seed = 3 }.Generate().WriteTo(dir.File("scene"));
        var config = TestConfigs.Micro with { Endmembers = 4 };
        var spec = new RunSpec
        {
            Config = config, Data = [scene], Tiling = new TilingOptions { TileSize = 16, Stride = 8 },
            Training = new TrainingOptions { Steps = 25, BatchSize = 4, LearningRate = 3e-3, CheckpointEvery = 0 },
        };
        var entries = Comparison.Run(spec, [("mae", config with { Variant = ModelVariant.Mae }), ("karma", config)], dir.File("compare"),
                                     (_, _, train) => train(_ => { }));
        Assert.Equal(["mae", "karma"], entries.Select(e => e.Name));
        Assert.Contains("| karma | 4 |", File.ReadAllText(dir.File("compare/comparison.md")));

        RunReport.Write(dir.File("compare/karma"), dir.File("report.html"), dir.File("compare"));
        string html = File.ReadAllText(dir.File("report.html"));
        foreach (var section in RunReport.Sections) Assert.Contains($">{section}</h2>", html);
        // Curves, 3 reconstruction strips and spectra, endmembers, 4 abundance maps, 2 comparison charts.
        Assert.True(CountOf(html, "data:image/png;base64,") >= 1 + 6 + 1 + 4 + 2, $"{CountOf(html, "data:image/png;base64,")} pictures");
        Assert.Contains("karma pretrain --model karma", html);

        // A plain MAE has no endmembers section, and no comparison without --compare.
        RunReport.Write(dir.File("compare/mae"), dir.File("mae.html"));
        string mae = File.ReadAllText(dir.File("mae.html"));
        Assert.DoesNotContain(">Endmembers and abundances</h2>", mae);
        Assert.DoesNotContain(">Comparison</h2>", mae);
    }

    static int CountOf(string text, string part)
    {
        int count = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal)) count++;
        return count;
    }
}
