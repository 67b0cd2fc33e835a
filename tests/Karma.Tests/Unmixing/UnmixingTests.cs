using Karma.Data;
using Karma.Runtime;
using Karma.Unmixing;

namespace Karma.Tests.Unmixing;

public class UnmixingTests
{
    [Fact]
    public void FCLS_matches_hand_solved_cases()
    {
        var fcls = new FullyConstrainedLeastSquares(new float[,] { { 1, 0 }, { 0, 1 } });
        var a = new double[2];
        // min (a1 − .7)² + (a2 − .5)² with a1 + a2 = 1 → (0.6, 0.4).
        fcls.Unmix([0.7f, 0.5f], a);
        Assert.Equal(0.6, a[0], 5);
        Assert.Equal(0.4, a[1], 5);
        // The sum-constrained optimum (2, −1) is infeasible; the constrained one is the vertex (1, 0).
        fcls.Unmix([2f, -1f], a);
        Assert.Equal(1, a[0], 5);
        Assert.Equal(0, a[1], 5);
    }

    [Fact]
    public void FCLS_recovers_random_mixtures_and_always_satisfies_the_constraints()
    {
        var random = new Random(3);
        const int bands = 30, m = 4;
        var e = new float[bands, m];
        for (int b = 0; b < bands; b++)
            for (int j = 0; j < m; j++) e[b, j] = (float)random.NextDouble();
        var fcls = new FullyConstrainedLeastSquares(e);
        var estimate = new double[m];
        for (int trial = 0; trial < 200; trial++)
        {
            var truth = Enumerable.Range(0, m).Select(_ => -Math.Log(random.NextDouble())).ToArray();
            double sum = truth.Sum();
            truth = truth.Select(t => trial % 3 == 0 && t < 0.5 * sum / m ? 0 : t).ToArray(); // some on the boundary
            sum = truth.Sum();
            truth = truth.Select(t => t / sum).ToArray();
            var y = Enumerable.Range(0, bands).Select(b => (float)Enumerable.Range(0, m).Sum(j => e[b, j] * truth[j])).ToArray();
            fcls.Unmix(y, estimate);
            Assert.All(estimate, v => Assert.True(v >= 0));
            Assert.Equal(1, estimate.Sum(), 5);
            Assert.Equal(truth, estimate, (x, z) => Math.Abs(x - z) < 1e-4);
            // Noisy spectra still give feasible abundances.
            var noisy = y.Select(v => v + (float)(random.NextDouble() - 0.5)).ToArray();
            fcls.Unmix(noisy, estimate);
            Assert.All(estimate, v => Assert.True(v >= 0));
            Assert.Equal(1, estimate.Sum(), 5);
        }
    }

    [Fact]
    public void Hungarian_matches_brute_force()
    {
        var random = new Random(11);
        for (int trial = 0; trial < 50; trial++)
        {
            int rows = random.Next(1, 6), cols = rows + random.Next(0, 3);
            var cost = new double[rows, cols];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) cost[i, j] = random.Next(0, 20) + random.NextDouble();
            var assignment = EndmemberMatching.Hungarian(cost);
            Assert.Equal(rows, assignment.Distinct().Count());
            double best = Permutations(Enumerable.Range(0, cols).ToList(), rows).Min(p => p.Select((j, i) => cost[i, j]).Sum());
            Assert.Equal(best, assignment.Select((j, i) => cost[i, j]).Sum(), 9);
        }
    }

    static IEnumerable<List<int>> Permutations(List<int> items, int length)
    {
        if (length == 0) { yield return []; yield break; }
        foreach (var item in items)
            foreach (var rest in Permutations(items.Where(x => x != item).ToList(), length - 1))
                yield return [item, .. rest];
    }

    [Fact]
    public void SAD_is_invariant_to_order_and_scale()
    {
        var random = new Random(2);
        var reference = new double[20, 3];
        for (int b = 0; b < 20; b++)
            for (int j = 0; j < 3; j++) reference[b, j] = random.NextDouble();
        var shuffled = new double[20, 4];
        int[] order = [2, 0, 1];
        for (int b = 0; b < 20; b++)
        {
            for (int j = 0; j < 3; j++) shuffled[b, j] = 3.5 * reference[b, order[j]];
            shuffled[b, 3] = random.NextDouble(); // a spare estimate
        }
        var (match, sad) = EndmemberMatching.Match(reference, shuffled);
        Assert.Equal([1, 2, 0], match);
        Assert.All(sad, s => Assert.Equal(0, s, 5));
    }

    [Fact]
    public void VCA_finds_the_pure_pixels_of_a_simplex()
    {
        TorchRuntime.EnsureLoaded();
        var random = new Random(4);
        const int bands = 40, m = 4, n = 500;
        var e = new double[bands, m];
        for (int b = 0; b < bands; b++)
            for (int j = 0; j < m; j++) e[b, j] = 0.1 + 0.8 * random.NextDouble();
        var pixels = new float[bands, n];
        int[] pure = [17, 123, 301, 444];
        for (int p = 0; p < n; p++)
        {
            var a = Enumerable.Range(0, m).Select(_ => -Math.Log(random.NextDouble())).ToArray();
            int k = Array.IndexOf(pure, p);
            if (k >= 0) a = Enumerable.Range(0, m).Select(j => j == k ? 1.0 : 0.0).ToArray();
            else
            {
                // Mixed pixels stay inside the simplex: every abundance at most 0.7.
                double s = a.Sum();
                a = a.Select(v => 0.1 + 0.6 * v / s).ToArray();
                s = a.Sum();
                a = a.Select(v => v / s).ToArray();
            }
            for (int b = 0; b < bands; b++) pixels[b, p] = (float)Enumerable.Range(0, m).Sum(j => e[b, j] * a[j]);
        }
        var (_, indices) = VertexComponentAnalysis.Extract(pixels, m, seed: 1);
        Assert.Equal(pure, indices.Order());
    }
}

public class SceneUnmixingTests
{
    [Fact]
    public void VCA_FCLS_recovers_a_simulated_scene_at_high_SNR()
    {
        TorchRuntime.EnsureLoaded();
        using var dir = new TempDir();
        var simulated = new Karma.Data.SceneSimulator { Size = 48, Bands = 60, Endmembers = 4, SnrDb = 60, Seed = 5 }.Generate();
        using var scene = Karma.Data.HyperspectralScene.Open(simulated.WriteTo(dir.Path));
        var cube = ReflectanceCube.Read(scene, new Karma.Data.TilingOptions());
        var result = SceneUnmixing.VcaFcls(cube, 4);
        var truth = UnmixingTruth.Read([dir.File("endmembers.csv"), dir.File("abundances.hdr")], 48, 48, 60);
        var score = UnmixingScore.Compute(result, truth);
        Assert.Equal(4, score.MatchedEstimate.Distinct().Count());
        Assert.True(score.MeanSadDegrees < 3, $"SAD {score.MeanSadDegrees:F2}°");
        Assert.True(score.MeanAbundanceRmse < 0.06, $"abundance RMSE {score.MeanAbundanceRmse:F3}");
        // Abundances are valid mixtures everywhere.
        int pixels = 48 * 48;
        for (int p = 0; p < pixels; p += 7)
            Assert.Equal(1, Enumerable.Range(0, 4).Sum(j => result.Abundances[j * pixels + p]), 4);
        Assert.True(result.Error.Average() < 0.01);
    }
}
