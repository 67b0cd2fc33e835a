using Karma.Data;
using Karma.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Karma.Downstream;

/// <summary>A scene in reflectance with its label map [rows·cols] (class numbers; the unlabelled value marks no label).</summary>
public sealed record LabelledScene(ReflectanceCube Cube, int[] Labels);

/// <summary>
/// Dense segmentation by fine-tuning: the pretrained encoder (nothing masked) plus a small head, trained end to end
/// with cross-entropy on the training pixels only. The head gives each token class logits (LayerNorm + Linear) and
/// interpolates them bilinearly between patch centres, so class boundaries can fall inside a patch; a linear skip
/// from each pixel's standardised spectrum adds the pixel's own evidence, as a U-Net's skip connection does. (Both
/// were measured against a per-token head that predicts all P×P pixels of its patch: that head had to learn
/// sub-patch detail from a few hundred labels and lost 7–8 points of accuracy; see the README.)
/// Training tiles are the tiles covering each scene that hold at least one training pixel; with
/// <c>excludeTestPixels</c> (spatial splits) a tile holding any test pixel is not used, so test pixels are seen
/// neither as labels nor as input during training. The encoder learns with layer-wise decaying rates after a frozen
/// start (<see cref="Options"/>), so a few hundred labels refine the pretrained features instead of overwriting them.
/// </summary>
public sealed class Segmentation : Module<Tensor, SpectralBands?, Tensor>
{
    readonly KarmaModel encoder;
    readonly LayerNorm norm;
    readonly Linear head;
    readonly Linear spectral;
    readonly int classes;

    Segmentation(KarmaModel encoder, int classes) : base("segmentation")
    {
        this.encoder = encoder;
        this.classes = classes;
        norm = LayerNorm(encoder.Config.EncoderDim);
        head = Linear(encoder.Config.EncoderDim, classes);
        spectral = Linear(encoder.SpectralFeatureCount, classes);
        RegisterComponents();
    }

    /// <summary>[B, bands, T, T] whose bands <paramref name="bands"/> describes → class logits [B, classes, T, T].</summary>
    public override Tensor forward(Tensor images, SpectralBands? bands)
    {
        var cfg = encoder.Config;
        using var scope = NewDisposeScope();
        long b = images.shape[0];
        var perToken = head.call(norm.call(encoder.EncodeAll(images, bands)));                 // [B, N, C]
        var grid = perToken.transpose(1, 2).reshape(b, classes, cfg.GridSize, cfg.GridSize);
        var context = functional.interpolate(grid, [cfg.TileSize, cfg.TileSize], mode: InterpolationMode.Bilinear, align_corners: false);
        var own = spectral.call(encoder.SpectralFeatures(images, bands).permute(0, 2, 3, 1)).permute(0, 3, 1, 2);   // [B, C, T, T]
        return (context + own).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Training settings: steps, batch, the head's learning rate, seed, and how the encoder learns: block i of d (counted
    /// from the input) at LearningRate·LayerDecay^(d − i), the patch embedding one step further down, the final norm one
    /// step below the head (layer-wise decay, as in BEiT and MAE fine-tuning: the layers nearest the input hold the most
    /// general features and move least); and not at all for the first <see cref="FrozenSteps"/> steps, so a random head
    /// does not send large gradients into pretrained weights.
    /// </summary>
    public sealed record Options(int Steps = 300, int BatchSize = 8, double LearningRate = 1e-3, int Seed = 0, double LayerDecay = 0.75, int FrozenSteps = 50);

    /// <summary>
    /// Fine-tunes <paramref name="pretrained"/> (its weights change) on the pixels <paramref name="train"/> (indices into
    /// the scenes' pixels laid end to end) and predicts a class for every pixel of every scene, end to end in the same order.
    /// </summary>
    public static int[] FitPredict(KarmaModel pretrained, IReadOnlyList<LabelledScene> scenes, int[] train, int[] test, bool excludeTestPixels, Options options)
    {
        var cfg = pretrained.Config;
        int t = cfg.TileSize;
        var labels = scenes.SelectMany(s => s.Labels).ToArray();
        var classes = train.Select(i => labels[i]).Distinct().Order().ToArray();
        if (classes.Length < 2) throw new InvalidSettingException("Fine-tuning needs training pixels of at least two classes.");
        var classIndex = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);
        var trainSet = train.ToHashSet();
        var testSet = test.ToHashSet();

        // Tiles with their targets: class index at training pixels, -1 (ignored) everywhere else.
        var tiles = new List<(float[] Values, long[] Target, int Scene)>();
        int offset = 0;
        for (int sceneIndex = 0; sceneIndex < scenes.Count; sceneIndex++)
        {
            var cube = scenes[sceneIndex].Cube;
            foreach (var (r, c, values) in cube.CoveringTiles(t))
            {
                var target = new long[t * t];
                bool any = false, leaks = false;
                for (int y = 0; y < t; y++)
                    for (int x = 0; x < t; x++)
                    {
                        int p = offset + (r + y) * cube.Cols + c + x;
                        target[y * t + x] = trainSet.Contains(p) ? classIndex[labels[p]] : -1;
                        any |= target[y * t + x] >= 0;
                        leaks |= testSet.Contains(p);
                    }
                if (any && !(excludeTestPixels && leaks)) tiles.Add((values, target, sceneIndex));
            }
            offset += cube.Rows * cube.Cols;
        }
        // A batch holds tiles of one band set (a wavelength-aware model may fine-tune on several sensors at once).
        string BandSet(int tile) => scenes[tiles[tile].Scene].Cube.Spectral?.Key ?? "";
        var sameBands = Enumerable.Range(0, tiles.Count).GroupBy(BandSet).ToDictionary(g => g.Key, g => g.ToList());
        if (tiles.Count == 0)
            throw new InvalidSettingException($"No {t}×{t} tile holds training pixels{(excludeTestPixels ? " without test pixels" : "")}; a spatial split needs scenes at least two tiles tall.");

        manual_seed(options.Seed);
        using var model = new Segmentation(pretrained, classes.Length);
        model.to(pretrained.Device);
        var headParameters = model.norm.parameters().Concat(model.head.parameters()).Concat(model.spectral.parameters()).ToArray();
        var groups = EncoderLayers(pretrained)
            .Select(g => (Scale: Math.Pow(options.LayerDecay, g.Depth), Group: new AdamW.ParamGroup(g.Parameters, options.LearningRate, beta2: 0.999, weight_decay: 0.05)))
            .ToList();
        var head = new AdamW.ParamGroup(headParameters, options.LearningRate, beta2: 0.999, weight_decay: 0.05);
        using var optimizer = new LeanAdamW([.. groups.Select(g => g.Group), head], options.LearningRate);
        var random = new Random(Seeds.Derive(options.Seed, 0, 5));
        int batch = Math.Min(options.BatchSize, tiles.Count);
        model.train();
        for (int step = 0; step < options.Steps; step++)
        {
            foreach (var (scale, group) in groups) group.LearningRate = step < options.FrozenSteps ? 0 : options.LearningRate * scale;
            using var scope = NewDisposeScope();
            var images = new List<Tensor>();
            var targets = new List<Tensor>();
            List<int>? members = null;
            for (int i = 0; i < batch; i++)
            {
                int drawn = members is null ? random.Next(tiles.Count) : members[random.Next(members.Count)];
                members ??= sameBands[BandSet(drawn)];
                var (values, target, _) = tiles[drawn];
                int k = random.Next(8);                                // the same flip/rotation for tile and labels
                images.Add(TileBatch.Turn(tensor(values, values.Length / (t * t), t, t), k));
                targets.Add(TileBatch.Turn(tensor(target, 1, t, t), k)[0]);
            }
            var bands = scenes[tiles[members![0]].Scene].Cube.Spectral;
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(stack(images).to(pretrained.Device), bands), stack(targets).to(pretrained.Device), ignore_index: -1);
            loss.backward();
            optimizer.step();
        }

        model.eval();
        var predicted = new List<int>();
        foreach (var scene in scenes)
        {
            int pixels = scene.Cube.Rows * scene.Cube.Cols;
            var logits = TiledInference.Run(pretrained, scene.Cube, classes.Length, images => model.call(images, scene.Cube.Spectral));
            for (int p = 0; p < pixels; p++)
            {
                int best = 0;
                for (int k = 1; k < classes.Length; k++)
                    if (logits[k * pixels + p] > logits[best * pixels + p]) best = k;
                predicted.Add(classes[best]);
            }
        }
        return predicted.ToArray();
    }

    /// <summary>
    /// The encoder's trainable parameters by depth below the head: final norm 1, last block 2, …, first block d + 1, the
    /// spectral embedding (or adapter) and the patch embedding d + 2.
    /// </summary>
    internal static IEnumerable<(int Depth, Parameter[] Parameters)> EncoderLayers(KarmaModel model)
    {
        int depth = model.Config.EncoderDepth;
        var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        Parameter[] Where(Func<string, bool> select) => named.Where(p => select(p.name)).Select(p => p.parameter).ToArray();
        yield return (1, Where(n => n.StartsWith("encoderNorm.")));
        for (int i = depth - 1; i >= 0; i--)
        {
            int block = i;
            yield return (depth - block + 1, Where(n => n.StartsWith($"encoderBlocks.{block}.")));
        }
        yield return (depth + 2, Where(n => n.StartsWith("patchEmbed.") || n.StartsWith("spectralEmbed.") || n.StartsWith("spectralAdapter.")));
    }
}
