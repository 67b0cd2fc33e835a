namespace Karma.Downstream;

/// <summary>
/// Which labelled pixels train a probe and which test it. <c>random</c> draws a stratified sample per class
/// (a fraction, or N pixels per class) and tests on every other labelled pixel; <c>spatial</c> draws training
/// pixels only from the top half of the rows and tests on the bottom half, so neighbours of training pixels are
/// not tested. The two sets never share a pixel. Classes with too few pixels are reported, not dropped.
/// </summary>
public sealed record LabelSplit(int[] Train, int[] Test, string[] Notes)
{
    /// <summary>Splits the pixels of <paramref name="labels"/> [rows·cols] whose label is not <paramref name="unlabelled"/>.</summary>
    public static LabelSplit Create(int[] labels, int rows, int cols, int unlabelled, double? trainFraction, int? perClass, bool spatial, int seed) =>
        Create(labels, unlabelled, trainFraction, perClass, spatial ? TopHalves([(rows, cols)]) : null, seed);

    /// <summary>
    /// Whether a pixel of scenes laid end to end (each [rows·cols], in order) lies in the top half of its scene:
    /// the training part of a spatial split over several scenes.
    /// </summary>
    public static Func<int, bool> TopHalves(IReadOnlyList<(int Rows, int Cols)> scenes) => p =>
    {
        foreach (var (rows, cols) in scenes)
        {
            if (p < rows * cols) return p / cols < rows / 2;
            p -= rows * cols;
        }
        throw new ArgumentOutOfRangeException(nameof(p));
    };

    /// <summary>
    /// Splits labelled pixels; with <paramref name="trainingPart"/> (a spatial split) training pixels come only from
    /// where it is true and every labelled pixel elsewhere is tested.
    /// </summary>
    public static LabelSplit Create(int[] labels, int unlabelled, double? trainFraction, int? perClass, Func<int, bool>? trainingPart, int seed)
    {
        bool spatial = trainingPart is not null;
        var notes = new List<string>();
        var random = new Random(seed);
        var train = new List<int>();
        var test = new List<int>();
        foreach (var group in Enumerable.Range(0, labels.Length).Where(p => labels[p] != unlabelled).GroupBy(p => labels[p]).OrderBy(g => g.Key))
        {
            var pixels = group.ToArray();
            var pool = spatial ? pixels.Where(trainingPart!).ToArray() : pixels;
            var rest = spatial ? pixels.Where(p => !trainingPart!(p)).ToArray() : null;
            random.Shuffle(pool);
            int take = perClass ?? (int)Math.Round((trainFraction ?? 0.05) * pixels.Length);
            int most = Math.Max(0, pool.Length - (spatial ? 0 : 1)); // random splits keep a test pixel per class
            take = Math.Clamp(take, Math.Min(1, most), most);
            if (take == 0) notes.Add($"class {group.Key}: no training pixel available ({pixels.Length} labelled{(spatial ? ", none in the training half" : "")}); it is only tested.");
            else if (take < 5) notes.Add($"class {group.Key}: only {take} training pixel(s) of {pixels.Length}.");
            train.AddRange(pool.Take(take));
            test.AddRange(spatial ? rest! : pool.Skip(take));
            if ((spatial ? rest!.Length : pool.Length - take) == 0) notes.Add($"class {group.Key}: no test pixel.");
        }
        return new LabelSplit(train.Order().ToArray(), test.Order().ToArray(), notes.ToArray());
    }
}
