using System.Globalization;
using System.Text.Json;
using Karma.Downstream;
using Karma.Evaluation;

namespace Karma.Reporting;

/// <summary>
/// Writes a probe experiment to a folder: per method a confusion matrix, a class map of every pixel and an error map
/// (correct, wrong, training, unlabelled) as PNGs, the reference labels, <c>split.json</c> and <c>metrics.json</c>.
/// </summary>
public static class ProbeReport
{
    /// <summary>Writes every output of <paramref name="result"/> for <paramref name="scenes"/> (named by <paramref name="paths"/>).</summary>
    public static void Write(string dir, ProbeResult result, IReadOnlyList<LabelledScene> scenes, IReadOnlyList<string> paths, int unlabelled)
    {
        Directory.CreateDirectory(dir);
        var map = result.Labels;
        var classes = map.Where(l => l != unlabelled).Distinct().Order().ToArray();
        var index = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);
        var names = classes.Select(c => $"class {c}").ToArray();
        var train = result.Split.Train.ToHashSet();
        var test = result.Split.Test.ToHashSet();
        IEnumerable<(string, int[], int, int)> Panels(Func<int, int> category)
        {
            int offset = 0;
            foreach (var (scene, path) in scenes.Zip(paths))
            {
                int n = scene.Cube.Rows * scene.Cube.Cols, start = offset;
                yield return (Path.GetFileNameWithoutExtension(path), Enumerable.Range(start, n).Select(category).ToArray(), scene.Cube.Rows, scene.Cube.Cols);
                offset += n;
            }
        }
        SkiaSharp.SKColor[] errorColours = [new(89, 161, 79), new(225, 87, 89), new(78, 121, 167), new(40, 40, 40)];
        foreach (var (name, predicted) in result.Predictions)
        {
            var m = result.Metrics[name];
            var counts = new int[m.Labels.Length, m.Labels.Length];
            for (int i = 0; i < m.Labels.Length; i++) for (int j = 0; j < m.Labels.Length; j++) counts[i, j] = (int)m.Confusion[i, j];
            Plots.ConfusionMatrix(Path.Combine(dir, $"confusion_{name}.png"), counts, m.Labels.Select(l => l.ToString(CultureInfo.InvariantCulture)).ToArray(), $"{name}: OA {m.Oa:P1}");
            Plots.CategoryMaps(Path.Combine(dir, $"classmap_{name}.png"), Panels(p => index.GetValueOrDefault(predicted[p], -1)).ToList(), names,
                               $"{name}: predicted classes (OA {m.Oa:P1}, mIoU {m.Miou:P1})");
            Plots.CategoryMaps(Path.Combine(dir, $"errors_{name}.png"),
                               Panels(p => test.Contains(p) ? (predicted[p] == map[p] ? 0 : 1) : train.Contains(p) ? 2 : 3).ToList(),
                               ["correct (test)", "wrong (test)", "training pixel", "unlabelled"], $"{name}: errors on test pixels", errorColours);
        }
        Plots.CategoryMaps(Path.Combine(dir, "labels.png"), Panels(p => index.GetValueOrDefault(map[p], -1)).ToList(), names, "reference labels");
        AtomicFiles.WriteText(Path.Combine(dir, "split.json"), JsonSerializer.Serialize(new { scenes = paths, result.Split.Train, result.Split.Test, result.Split.Notes }));
        AtomicFiles.WriteText(Path.Combine(dir, "metrics.json"), JsonSerializer.Serialize(Summary(result.Metrics), KarmaJson.Indented));
    }

    /// <summary>Per method: OA, AA, κ, mIoU, the labels, the confusion matrix and per-class scores, as JSON-ready objects.</summary>
    public static Dictionary<string, object> Summary(IReadOnlyDictionary<string, ClassificationMetrics> results) =>
        results.ToDictionary(r => r.Key, r => (object)new
        {
            oa = r.Value.Oa, aa = r.Value.Aa, kappa = r.Value.Kappa, miou = r.Value.Miou, labels = r.Value.Labels,
            confusion = Enumerable.Range(0, r.Value.Labels.Length).Select(i => Enumerable.Range(0, r.Value.Labels.Length).Select(j => r.Value.Confusion[i, j]).ToArray()).ToArray(),
            perClass = r.Value.PerClass,
        });
}
