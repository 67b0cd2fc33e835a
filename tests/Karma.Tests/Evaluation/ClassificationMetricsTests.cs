using System.Text.Json;
using Karma.Evaluation;

namespace Karma.Tests.Evaluation;

public class ClassificationMetricsTests
{
    [Fact]
    public void Agrees_with_scikit_learn_on_the_reference_predictions()
    {
        var reference = JsonDocument.Parse(File.ReadAllText(Shared.Require("reference/reference.json"))).RootElement.GetProperty("classification");
        int[] Ints(string key) => reference.GetProperty(key).EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var m = ClassificationMetrics.Compute(Ints("yTrue"), Ints("yPred"));
        var confusion = reference.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        for (int i = 0; i < confusion.Length; i++)
            for (int j = 0; j < confusion.Length; j++) Assert.Equal(confusion[i][j], m.Confusion[i, j]);
        Assert.Equal(reference.GetProperty("oa").GetDouble(), m.Oa, 10);
        Assert.Equal(reference.GetProperty("aa").GetDouble(), m.Aa, 10);
        Assert.Equal(reference.GetProperty("kappa").GetDouble(), m.Kappa, 10);
        Assert.Equal(reference.GetProperty("miou").GetDouble(), m.Miou, 10);
    }

    [Fact]
    public void Matches_a_hand_computed_confusion_matrix()
    {
        // truth 0,0,0,1,1,2 ; predicted 0,0,1,1,1,0 → C = [[2,1,0],[0,2,0],[1,0,0]]
        var m = ClassificationMetrics.Compute([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 1, 0]);
        Assert.Equal(4.0 / 6, m.Oa, 12);
        Assert.Equal((2.0 / 3 + 1 + 0) / 3, m.Aa, 12);
        double pe = (3 * 3 + 2 * 3 + 1 * 0) / 36.0;
        Assert.Equal((4.0 / 6 - pe) / (1 - pe), m.Kappa, 12);
        Assert.Equal((2.0 / 4 + 2.0 / 3 + 0) / 3, m.Miou, 12);
        Assert.Equal(1.0, ClassificationMetrics.Compute([3, 1, 2], [3, 1, 2]).Kappa, 12);
    }
}
