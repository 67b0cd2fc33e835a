using System.Text.Json;
using Karma.Anomaly;
using Karma.Data;
using Karma.Evaluation;

namespace Karma.Reporting;

/// <summary>
/// Writes anomaly maps to a folder: <c>anomaly.tif</c> (one band per method, georeferencing carried over), a PNG map per
/// method (colours clipped at the 1st and 99.5th percentiles, so a few extreme pixels do not wash the map out),
/// <c>roc.png</c> with the ROC curve of each method when truth was given, and <c>anomaly.json</c> (AUC and seconds per method).
/// </summary>
public static class AnomalyReport
{
    /// <summary>Writes every output for <paramref name="maps"/> of a rows × cols scene.</summary>
    public static void Write(string directory, IReadOnlyList<AnomalyMap> maps, int rows, int cols, SceneMetadata source, int[]? truth = null, string scene = "")
    {
        Directory.CreateDirectory(directory);
        int pixels = rows * cols;
        var all = new float[maps.Count * pixels];
        for (int k = 0; k < maps.Count; k++) maps[k].Scores.CopyTo(all, k * pixels);
        var geo = new SceneMetadata { GeoTransform = source.GeoTransform, CoordinateSystem = source.CoordinateSystem, MapInfo = source.MapInfo, BandNames = maps.Select(m => $"{m.Name} score").ToArray() };
        SceneWriter.Write(Path.Combine(directory, "anomaly.tif"), rows, cols, maps.Count, all, geo);
        foreach (var map in maps)
        {
            var finite = map.Scores.Where(float.IsFinite).Order().ToArray();
            (double, double)? range = finite.Length > 0 ? (finite[(int)(0.01 * (finite.Length - 1))], finite[(int)(0.995 * (finite.Length - 1))]) : null;
            var grid = new double[rows, cols];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) grid[r, c] = map.Scores[r * cols + c];
            Plots.Map(Path.Combine(directory, $"anomaly_{map.Name}.png"), grid, $"{map.Name} anomaly score" + (map.Auc is { } a ? $" (AUC {a:F3})" : ""), "score", range);
        }
        if (truth is not null)
        {
            var positive = truth.Select(v => v != 0).ToArray();
            Plots.Lines(Path.Combine(directory, "roc.png"), maps.Select(m =>
            {
                var (fpr, tpr) = RocCurve.Points(m.Scores.Select(v => (double)v).ToArray(), positive);
                return ($"{m.Name} (AUC {m.Auc:F3})", fpr, tpr);
            }), $"ROC {scene}".Trim(), "false positive rate", "true positive rate", diagonal: true);
        }
        var summary = maps.ToDictionary(m => m.Name, m => new { auc = m.Auc, seconds = m.Seconds });
        AtomicFiles.WriteText(Path.Combine(directory, "anomaly.json"), JsonSerializer.Serialize(new { scene, rows, cols, methods = summary }, KarmaJson.Indented));
    }
}
