using TorchSharp;
using static TorchSharp.torch;

namespace Karma.Downstream;

/// <summary>
/// A linear classifier (multinomial logistic regression) on frozen features: features are standardised with the
/// training pixels' statistics, then a single linear layer is fitted full-batch with Adam and a little weight
/// decay for a fixed number of iterations from a seeded start, so the same split gives the same predictions.
/// The same probe on raw spectra is the baseline that pretrained features must beat.
/// </summary>
public static class LinearProbe
{
    /// <summary>Fits on the rows <paramref name="train"/> of <paramref name="features"/> and predicts the rows <paramref name="test"/>.</summary>
    public static int[] FitPredict(float[,] features, int[] labels, int[] train, int[] test, int seed = 0, int iterations = 300)
    {
        int d = features.GetLength(1);
        var classes = train.Select(i => labels[i]).Distinct().Order().ToArray();
        var index = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);
        using var scope = NewDisposeScope();
        var x = Rows(features, train);
        var mean = x.mean([0L], keepdim: true);
        var std = x.std(0, keepdim: true).clamp_min(1e-6);
        x = (x - mean) / std;
        var y = tensor(train.Select(i => (long)index[labels[i]]).ToArray());
        manual_seed(seed);
        var layer = nn.Linear(d, classes.Length);
        var optimizer = optim.Adam(layer.parameters(), 0.05, weight_decay: 1e-4);
        for (int step = 0; step < iterations; step++)
        {
            using var inner = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(layer.call(x), y);
            loss.backward();
            optimizer.step();
        }
        using var _ = no_grad();
        var predicted = layer.call((Rows(features, test) - mean) / std).argmax(1).data<long>().ToArray();
        return predicted.Select(p => classes[p]).ToArray();
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
