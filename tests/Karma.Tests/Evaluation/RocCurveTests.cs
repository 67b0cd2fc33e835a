using System.Text.Json;
using Karma.Evaluation;

namespace Karma.Tests.Evaluation;

public class RocCurveTests
{
    [Fact]
    public void Auc_equals_scikit_learn_on_the_reference_lists_ties_included()
    {
        var cases = JsonDocument.Parse(File.ReadAllText(Shared.Require("reference/reference.json"))).RootElement.GetProperty("anomaly").GetProperty("auc");
        int n = 0;
        foreach (var c in cases.EnumerateArray())
        {
            var labels = c.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32() != 0).ToArray();
            var scores = c.GetProperty("scores").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(c.GetProperty("auc").GetDouble(), RocCurve.Auc(scores, labels), 12);
            n++;
        }
        Assert.True(n >= 2);
    }

    [Fact]
    public void Auc_of_hand_checked_cases()
    {
        Assert.Equal(1.0, RocCurve.Auc([0.1, 0.2, 0.9, 0.8], [false, false, true, true]));
        Assert.Equal(0.0, RocCurve.Auc([0.9, 0.8, 0.1, 0.2], [false, false, true, true]));
        Assert.Equal(0.5, RocCurve.Auc([1, 1, 1, 1], [false, true, false, true]));
        // positives 0.5 and 0.3 against negatives 0.4 and 0.3: pairs (0.5>0.4, 0.5>0.3, 0.3<0.4, 0.3=0.3 → ½) = 2.5/4
        Assert.Equal(0.625, RocCurve.Auc([0.5, 0.3, 0.4, 0.3], [true, true, false, false]));
        Assert.Equal(0.625, RocCurve.Auc([0.5, 0.3, 0.4, 0.3, double.NaN], [true, true, false, false, true]));   // NaN left out
        Assert.ThrowsAny<KarmaException>(() => RocCurve.Auc([1, 2], [false, false]));
        var (fpr, tpr) = RocCurve.Points([0.5, 0.3, 0.4, 0.3], [true, true, false, false]);
        Assert.Equal([0, 0, 0.5, 1], fpr);
        Assert.Equal([0, 0.5, 0.5, 1], tpr);
    }
}
