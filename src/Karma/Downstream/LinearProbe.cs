using TorchSharp;
using static TorchSharp.torch;

namespace Karma.Downstream;

/// <summary>
/// A classifier on frozen per-pixel features: multinomial logistic regression (or, with <c>mlp</c>, one hidden layer of
/// 256 GELU units). Features are standardised with the training pixels' statistics and the model is fitted full-batch
/// with Adam for a fixed number of iterations from a seeded start, so the same split gives the same predictions. The L2
/// penalty is chosen by 3-fold cross-validation on the training pixels among 1e-4 … 1 (stratified folds), as
/// scikit-learn's LogisticRegressionCV would: a few hundred labelled pixels against hundreds of feature dimensions
/// overfit without it, and the right strength differs between raw spectra and encoder features. Given several candidate
/// column sets from simplest to richest (say, the spectrum alone, then encoder features with the spectrum), cross-validation
/// picks the set as well as the penalty, and a richer set replaces a simpler one only when its cross-validated accuracy is
/// higher by more than one standard error (the one-standard-error rule): features added to the spectrum are used when they
/// clearly help and otherwise left out, so they cannot make a probe worse than the spectrum except by the folds' chance.
/// The same probe on raw spectra is the baseline that pretrained features must beat.
/// </summary>
public static class LinearProbe
{
    /// <summary>The L2 penalties cross-validation chooses from.</summary>
    public static readonly double[] Penalties = [1e-4, 1e-3, 1e-2, 1e-1, 1];

    /// <summary>
    /// Fits on the rows <paramref name="train"/> of <paramref name="features"/> and predicts the rows <paramref name="test"/>;
    /// <paramref name="penalty"/> null chooses it by cross-validation.
    /// </summary>
    public static int[] FitPredict(float[,] features, int[] labels, int[] train, int[] test, int seed = 0, int iterations = 300, double? penalty = null, bool mlp = false) =>
        FitPredict([features], labels, train, test, seed, iterations, penalty, mlp).Predicted;

    /// <summary>A candidate's cross-validated accuracy at the penalty that gave it (<see cref="CrossValidate(float[,], int[], int[], int, int, double?, bool)"/>).</summary>
    public sealed record CrossValidated(double Accuracy, double Penalty);

    /// <summary>
    /// The best cross-validated accuracy of <paramref name="features"/> on the training pixels over <see cref="Penalties"/>
    /// (or at <paramref name="penalty"/> alone), with the penalty that gave it. Pass it to
    /// <see cref="FitPredict(IReadOnlyList{float[,]}, int[], int[], int[], int, int, double?, bool, IReadOnlyList{CrossValidated?}?)"/>
    /// when the same candidate is weighed more than once (the spectrum, against each model's features).
    /// </summary>
    public static CrossValidated CrossValidate(float[,] features, int[] labels, int[] train, int seed = 0, int iterations = 300, double? penalty = null, bool mlp = false)
    {
        double best = -1, bestPenalty = penalty ?? Penalties[0];
        foreach (double p in penalty is { } fixedPenalty ? [fixedPenalty] : Penalties)
        {
            double accuracy = CrossValidate(features, labels, train, p, seed, iterations, mlp);
            if (accuracy > best + 1e-12) (best, bestPenalty) = (accuracy, p);
        }
        return new(best, bestPenalty);
    }

    /// <summary>
    /// Fits on the best of several <paramref name="candidates"/> (feature matrices over the same pixels, simplest first) and
    /// penalty, both chosen by cross-validation on the training pixels; a later candidate must beat the best so far by one
    /// standard error. <paramref name="known"/> holds candidates' cross-validation already done with the same labels,
    /// training pixels, seed and settings (null where not). Returns the predictions for <paramref name="test"/> and which
    /// candidate was chosen.
    /// </summary>
    public static (int[] Predicted, int Candidate, double Penalty) FitPredict(IReadOnlyList<float[,]> candidates, int[] labels, int[] train, int[] test, int seed = 0,
                                                                            int iterations = 300, double? penalty = null, bool mlp = false,
                                                                            IReadOnlyList<CrossValidated?>? known = null)
    {
        var classes = train.Select(i => labels[i]).Distinct().Order().ToArray();
        if (classes.Length < 2) throw new InvalidSettingException("A probe needs training pixels of at least two classes.");
        int candidate = 0;
        double chosen = penalty ?? Penalties[0];
        if (penalty is null || candidates.Count > 1)
        {
            double best = -1;
            for (int c = 0; c < candidates.Count; c++)
            {
                var (here, hereP) = (known is not null && c < known.Count ? known[c] : null)
                                    ?? CrossValidate(candidates[c], labels, train, seed, iterations, penalty, mlp);
                double margin = c == 0 ? 0 : Math.Sqrt(Math.Max(best * (1 - best), 1e-12) / train.Length);
                if (here > best + margin + 1e-12) (best, candidate, chosen) = (here, c, hereP);
            }
        }
        using var scope = NewDisposeScope();
        var (layer, mean, std) = Fit(candidates[candidate], labels, train, classes, chosen, seed, iterations, mlp);
        return (Predict(layer, candidates[candidate], test, mean, std).Select(p => classes[p]).ToArray(), candidate, chosen);
    }

    /// <summary>Mean accuracy of <paramref name="penalty"/> over stratified folds of the training pixels.</summary>
    static double CrossValidate(float[,] features, int[] labels, int[] train, double penalty, int seed, int iterations, bool mlp, int folds = 3)
    {
        var random = new Random(Seeds.Derive(seed, 0, 11));
        var fold = new Dictionary<int, int>();
        foreach (var group in train.GroupBy(i => labels[i]))
        {
            var members = group.ToArray();
            random.Shuffle(members);
            for (int k = 0; k < members.Length; k++) fold[members[k]] = k % folds;
        }
        double correct = 0, counted = 0;
        for (int f = 0; f < folds; f++)
        {
            var fit = train.Where(i => fold[i] != f).ToArray();
            var held = train.Where(i => fold[i] == f).ToArray();
            var fitClasses = fit.Select(i => labels[i]).Distinct().Order().ToArray();
            if (held.Length == 0 || fitClasses.Length < 2) continue;
            using var scope = NewDisposeScope();
            var (layer, mean, std) = Fit(features, labels, fit, fitClasses, penalty, seed, iterations, mlp);
            var predicted = Predict(layer, features, held, mean, std);
            correct += held.Where((p, k) => fitClasses[predicted[k]] == labels[p]).Count();
            counted += held.Length;
        }
        return counted > 0 ? correct / counted : 0;
    }

    static (nn.Module<Tensor, Tensor> Layer, Tensor Mean, Tensor Std) Fit(float[,] features, int[] labels, int[] rows, int[] classes, double penalty, int seed, int iterations, bool mlp)
    {
        int d = features.GetLength(1);
        var index = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);
        var x = Rows(features, rows);
        var mean = x.mean([0L], keepdim: true);
        var std = x.std(0, keepdim: true).clamp_min(1e-6);
        x = (x - mean) / std;
        var y = tensor(rows.Select(i => (long)index[labels[i]]).ToArray());
        manual_seed(seed);
        nn.Module<Tensor, Tensor> layer = mlp
            ? nn.Sequential(("fc1", nn.Linear(d, 256)), ("gelu", nn.GELU()), ("fc2", nn.Linear(256, classes.Length)))
            : nn.Linear(d, classes.Length);
        using var optimizer = optim.Adam(layer.parameters(), mlp ? 0.01 : 0.05, weight_decay: penalty);
        for (int step = 0; step < iterations; step++)
        {
            using var inner = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(layer.call(x), y);
            loss.backward();
            optimizer.step();
        }
        return (layer, mean, std);
    }

    static long[] Predict(nn.Module<Tensor, Tensor> layer, float[,] features, int[] rows, Tensor mean, Tensor std)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return layer.call((Rows(features, rows) - mean) / std).argmax(1).data<long>().ToArray();
    }

    static Tensor Rows(float[,] features, int[] rows)
    {
        int d = features.GetLength(1);
        var data = new float[rows.Length * d];
        for (int i = 0; i < rows.Length; i++)
            for (int k = 0; k < d; k++) data[i * d + k] = features[rows[i], k];
        return tensor(data, rows.Length, d);
    }
}
