using Karma.Data;
using Karma.Downstream;
using Karma.Evaluation;
using Karma.Model;
using TorchSharp;

namespace Karma.Experiments;

/// <summary>Settings of a probe experiment: the split, what the probes read, and the fine-tuning.</summary>
/// <param name="Recipe">What the probe on the pretrained model reads (<see cref="FeatureRecipe"/>).</param>
/// <param name="Mlp">A one-hidden-layer probe instead of a linear one.</param>
/// <param name="Spatial">Train in the top half of each scene, test in the bottom half (instead of a stratified random split).</param>
/// <param name="TrainFraction">Fraction of each class's labelled pixels that train (default 0.05).</param>
/// <param name="PerClass">Training pixels per class instead of a fraction.</param>
/// <param name="Unlabelled">Label value of unlabelled pixels.</param>
/// <param name="Tuning">Fine-tuning settings (Steps = 0 skips fine-tuning and its scratch control).</param>
public sealed record ProbeOptions(FeatureRecipe Recipe, bool Mlp = false, bool Spatial = false, double? TrainFraction = null, int? PerClass = null,
                                  int Unlabelled = 0, Segmentation.Options? Tuning = null)
{
    /// <summary>The seed of the split, the probes and fine-tuning.</summary>
    public int Seed => Tuning?.Seed ?? 0;
}

/// <summary>
/// Per-pixel classification of labelled scenes on one split, every method predicting every pixel:
/// <list type="bullet">
/// <item><c>raw</c>: the probe on raw spectra (the baseline);</item>
/// <item><c>probe</c>: the probe on the pretrained model's features as <see cref="ProbeOptions.Recipe"/> composes them;</item>
/// <item><c>probe-learned</c>: the probe on the learned features alone (encoder and decoder, when the recipe adds more), which says how much
///   the learned part holds by itself;</item>
/// <item><c>finetune</c> and <c>scratch</c>: dense segmentation fine-tuned from the pretrained weights and from random weights,
///   the control that says whether pretraining helped;</item>
/// <item><c>baseline</c>, <c>baseline-finetune</c>: the same for a second model (a plain MAE) when given.</item>
/// </list>
/// </summary>
public static class ProbeExperiment
{
    /// <summary>Runs every method on <paramref name="scenes"/> (read for <paramref name="model"/>).</summary>
    public static ProbeResult Run(KarmaModel model, IReadOnlyList<LabelledScene> scenes, ProbeOptions options, KarmaModel? baseline = null)
    {
        var labels = scenes.SelectMany(s => s.Labels).ToArray();
        int classes = labels.Where(l => l != options.Unlabelled).Distinct().Count();
        if (classes < 2)
            throw new InvalidSettingException($"The label maps hold {(classes == 0 ? "no labelled pixel" : "a single class")} (unlabelled value {options.Unlabelled}); classification needs at least two classes.");
        var split = LabelSplit.Create(labels, options.Unlabelled, options.TrainFraction, options.PerClass,
                                      options.Spatial ? LabelSplit.TopHalves(scenes.Select(x => (x.Cube.Rows, x.Cube.Cols)).ToList()) : null, options.Seed);
        if (split.Train.Length == 0 || split.Test.Length == 0)
            throw new InvalidSettingException("The label maps leave no training or no test pixel: check the unlabelled value and the maps.");
        var everyPixel = Enumerable.Range(0, labels.Length).ToArray();
        var predictions = new Dictionary<string, int[]>();
        var notes = new List<string>(split.Notes);
        var spectra = Stack(scenes.Select(s => PixelFeatures.Spectra(s.Cube)).ToList());
        // The spectrum's cross-validation is done once and reused wherever it is weighed again.
        var spectrumScore = LinearProbe.CrossValidate(spectra, labels, split.Train, options.Seed, mlp: options.Mlp);
        // Each source of the recipe computed once per model (every scene's parts stacked in scene order).
        IReadOnlyList<(FeatureSources Source, float[,] Features)> Parts(KarmaModel m)
        {
            var perScene = scenes.Select(s => options.Recipe.Parts(m, s.Cube)).ToList();
            return perScene[0].Select((part, k) => (part.Source, Stack(perScene.Select(p => p[k].Features).ToList()))).ToList();
        }
        // With the spectrum in the recipe, cross-validation may fall back to the spectrum alone: features may add, never subtract.
        int[] ProbeWithSpectrum(KarmaModel m, IReadOnlyList<(FeatureSources Source, float[,] Features)> parts)
        {
            var composed = FeatureRecipe.Concatenate(parts.Select(p => p.Features).ToList());
            bool withSpectrum = options.Recipe.Sources.HasFlag(FeatureSources.Spectrum);
            IReadOnlyList<float[,]> candidates = withSpectrum ? [spectra, composed] : [composed];
            var (predicted, chosen, _) = LinearProbe.FitPredict(candidates, labels, split.Train, everyPixel, options.Seed, mlp: options.Mlp,
                                                                known: withSpectrum ? [spectrumScore] : null);
            if (withSpectrum && chosen == 0)
                notes.Add($"the probe on {m.Config.Variant} features kept the spectrum alone: in cross-validation on the training pixels the features did not help by more than one standard error");
            return predicted;
        }

        predictions["raw"] = LinearProbe.FitPredict([spectra], labels, split.Train, everyPixel, options.Seed, mlp: options.Mlp, known: [spectrumScore]).Predicted;
        var modelParts = Parts(model);
        predictions["probe"] = ProbeWithSpectrum(model, modelParts);
        var learned = options.Recipe.Sources & (FeatureSources.Encoder | FeatureSources.Decoder);
        if (learned != 0 && learned != options.Recipe.Sources)
            predictions["probe-learned"] = LinearProbe.FitPredict(FeatureRecipe.Concatenate(modelParts.Where(p => learned.HasFlag(p.Source)).Select(p => p.Features).ToList()),
                                                                  labels, split.Train, everyPixel, options.Seed, mlp: options.Mlp);
        var tuning = options.Tuning ?? new Segmentation.Options();
        int[] FineTune(KarmaModel m) => Segmentation.FitPredict(m, scenes, split.Train, split.Test, excludeTestPixels: options.Spatial, tuning);
        if (tuning.Steps > 0)
        {
            torch.manual_seed(options.Seed);
            using (var scratch = new KarmaModel(model.Config))
            {
                scratch.SetBandStatistics(model.BandMean, model.BandStd);
                scratch.to(model.Device);
                predictions["scratch"] = FineTune(scratch);
            }
            // Fine-tuning changes the weights: it runs on a copy, so the caller's model stays the pretrained one.
            using var copy = Copy(model);
            predictions["finetune"] = FineTune(copy);
        }
        if (baseline is not null)
        {
            predictions["baseline"] = ProbeWithSpectrum(baseline, Parts(baseline));
            if (tuning.Steps > 0)
            {
                using var copy = Copy(baseline);
                predictions["baseline-finetune"] = FineTune(copy);
            }
        }
        var truth = split.Test.Select(p => labels[p]).ToArray();
        var metrics = predictions.ToDictionary(p => p.Key, p => ClassificationMetrics.Compute(truth, split.Test.Select(i => p.Value[i]).ToArray()));
        return new ProbeResult(split with { Notes = notes.ToArray() }, labels, predictions, metrics);
    }

    /// <summary>A model with the same configuration, weights and statistics.</summary>
    static KarmaModel Copy(KarmaModel model)
    {
        var copy = new KarmaModel(model.Config);
        using (torch.no_grad())
        {
            var source = model.state_dict();
            foreach (var (name, tensor) in copy.state_dict()) tensor.copy_(source[name]);
        }
        copy.to(model.Device);
        copy.eval();
        return copy;
    }

    /// <summary>Per-scene feature matrices stacked in scene order.</summary>
    static float[,] Stack(IReadOnlyList<float[,]> parts)
    {
        var all = new float[parts.Sum(p => p.GetLength(0)), parts[0].GetLength(1)];
        int row = 0;
        foreach (var part in parts)
            for (int i = 0; i < part.GetLength(0); i++, row++)
                for (int k = 0; k < part.GetLength(1); k++) all[row, k] = part[i, k];
        return all;
    }
}
