using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Karma.Model;

/// <summary>
/// KARMA: a ViT masked autoencoder over hyperspectral tiles whose decoder feeds two heads, the direct
/// pixel reconstruction and (for <see cref="ModelVariant.Karma"/> and <see cref="ModelVariant.HuberLsmm"/>)
/// the <see cref="LinearMixingBranch"/>. A plain MAE is this class with the branch switched off, so
/// comparisons differ only in what the configuration says.
/// Input tiles are reflectance [B, bands, T, T]; the encoder sees them standardised per band with the
/// statistics in <see cref="SetBandStatistics"/>, and both heads predict reflectance, because linear
/// mixing holds for reflectance, not for standardised values.
/// </summary>
public sealed class KarmaModel : Module<Tensor, TokenMasking, KarmaOutput>
{
    readonly Linear patchEmbed, decoderEmbed, pixelHead;
    readonly ModuleList<TransformerBlock> encoderBlocks, decoderBlocks;
    readonly LayerNorm encoderNorm, decoderNorm;
    readonly Parameter maskToken;
    readonly LinearMixingBranch? physics;
    readonly Tensor encoderPos, decoderPos, bandMean, bandStd;

    /// <summary>The configuration the model was built from.</summary>
    public KarmaConfig Config { get; }

    /// <summary>The physics branch, or null for variants without it.</summary>
    public LinearMixingBranch? Physics => physics;

    /// <summary>The device the model's weights live on; inputs must be moved there.</summary>
    public Device Device => encoderPos.device;

    /// <summary>Number of parameters (weights and endmembers), for memory estimates and reports.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>Builds a model with freshly initialised weights (seed torch first for reproducibility).</summary>
    public KarmaModel(KarmaConfig config) : base("karma")
    {
        Config = config.Validate();
        int d = config.EncoderDim, dd = config.DecoderDim;
        patchEmbed = Linear(config.PatchValues, d);
        encoderBlocks = new ModuleList<TransformerBlock>(Enumerable.Range(0, config.EncoderDepth)
            .Select(i => new TransformerBlock($"encoder{i}", d, config.EncoderHeads, config.MlpRatio)).ToArray());
        encoderNorm = LayerNorm(d);
        decoderEmbed = Linear(d, dd);
        maskToken = new Parameter(randn(1, 1, dd) * 0.02);
        decoderBlocks = new ModuleList<TransformerBlock>(Enumerable.Range(0, config.DecoderDepth)
            .Select(i => new TransformerBlock($"decoder{i}", dd, config.DecoderHeads, config.MlpRatio)).ToArray());
        decoderNorm = LayerNorm(dd);
        pixelHead = Linear(dd, config.PatchValues);
        if (config.HasPhysicsBranch)
            physics = new LinearMixingBranch("physics", dd, config.Bands, config.Endmembers, config.PatchSize,
                                             config.PerPixelAbundances, config.LearnEndmembers);
        encoderPos = PositionEmbedding.SineCosine2D(d, config.GridSize).unsqueeze(0);
        decoderPos = PositionEmbedding.SineCosine2D(dd, config.GridSize).unsqueeze(0);
        bandMean = zeros(config.Bands);
        bandStd = ones(config.Bands);
        RegisterComponents(); // also registers the four tensors above as buffers, saved with the weights
    }

    /// <summary>Per-band mean of the training data (reflectance), subtracted before the encoder.</summary>
    public float[] BandMean => bandMean.cpu().data<float>().ToArray();

    /// <summary>Per-band standard deviation of the training data, divided out before the encoder.</summary>
    public float[] BandStd => bandStd.cpu().data<float>().ToArray();

    /// <summary>Sets the per-band mean and standard deviation used to standardise encoder input.</summary>
    public void SetBandStatistics(ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        if (mean.Length != Config.Bands || std.Length != Config.Bands)
            throw new KarmaException($"Band statistics need {Config.Bands} values each (got {mean.Length} and {std.Length}).");
        using var _ = no_grad();
        using var m = tensor(mean.ToArray());
        using var s = tensor(std.ToArray()).clamp_min(1e-6);
        bandMean.copy_(m);
        bandStd.copy_(s);
    }

    /// <summary>Masks, encodes and decodes <paramref name="images"/> ([B, bands, T, T] reflectance).</summary>
    public override KarmaOutput forward(Tensor images, TokenMasking masking)
    {
        CheckShape(images);
        using var scope = NewDisposeScope();
        long b = images.shape[0];
        int n = Config.Tokens, visible = masking.Visible;
        var latent = Encode(images, masking.Shuffle[.., ..visible]);

        var y = decoderEmbed.call(latent);
        var filler = maskToken.expand(b, n - visible, Config.DecoderDim);
        y = cat([y, filler], 1).gather(1, masking.Restore.unsqueeze(-1).expand(b, n, Config.DecoderDim)) + decoderPos;
        foreach (var block in decoderBlocks) y = block.call(y);
        y = decoderNorm.call(y);

        var reconstruction = pixelHead.call(y);
        Tensor? abundances = null, endmembers = null;
        if (physics is not null) (abundances, endmembers) = physics.call(y);
        return new KarmaOutput
        {
            Reconstruction = reconstruction.MoveToOuterDisposeScope(),
            Abundances = abundances?.MoveToOuterDisposeScope(),
            Endmembers = endmembers?.MoveToOuterDisposeScope(),
            Masking = masking,
        };
    }

    /// <summary>Encoder features of every patch with nothing masked: [B, N, D]. Used for embeddings and probes.</summary>
    public Tensor EncodeAll(Tensor images)
    {
        CheckShape(images);
        using var scope = NewDisposeScope();
        var all = arange(Config.Tokens, dtype: int64, device: images.device).unsqueeze(0).expand(images.shape[0], Config.Tokens);
        return Encode(images, all).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-pixel abundances of the physics branch with nothing masked: [B, M, T, T] (a per-patch model repeats
    /// each patch's mixture over its pixels). Throws for variants without the branch.
    /// </summary>
    public Tensor Abundances(Tensor images)
    {
        if (physics is null) throw new KarmaException($"A {Config.Variant} model has no physics branch and so no abundances; unmix with a karma or huber+lsmm model, or with --method vca-fcls.");
        using var scope = NewDisposeScope();
        long b = images.shape[0];
        using var output = forward(images, TokenMasking.None(b, Config.Tokens, images.device));
        int p = Config.PatchSize, g = Config.GridSize, m = Config.Endmembers;
        var a = output.Abundances!.expand(b, Config.Tokens, p * p, m)           // [B, N, P², M]
                      .reshape(b, g, g, p, p, m).permute(0, 5, 1, 3, 2, 4).reshape(b, m, g * p, g * p);
        return a.MoveToOuterDisposeScope();
    }

    /// <summary>Draws a masking for a batch of <paramref name="batch"/> tiles with this model's ratio.</summary>
    public TokenMasking SampleMasking(long batch, Generator? generator = null) =>
        TokenMasking.Sample(batch, Config.Tokens, Config.VisibleTokens, generator, encoderPos.device);

    /// <summary>Tiles in token layout [B, N, P²·bands], the target both heads are compared with.</summary>
    public Tensor Targets(Tensor images) => Patches.Patchify(images, Config.PatchSize);

    /// <summary>Tiles [B, bands, T, T] standardised per band with the training data's statistics, as the encoder sees them.</summary>
    public Tensor Standardise(Tensor images) => (images - bandMean.view(1, -1, 1, 1)) / bandStd.view(1, -1, 1, 1);

    Tensor Encode(Tensor images, Tensor keep)
    {
        long b = images.shape[0];
        var x = patchEmbed.call(Patches.Patchify(Standardise(images), Config.PatchSize)) + encoderPos;
        x = x.gather(1, keep.unsqueeze(-1).expand(b, keep.shape[1], Config.EncoderDim));
        foreach (var block in encoderBlocks) x = block.call(x);
        return encoderNorm.call(x);
    }

    void CheckShape(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != Config.Bands || images.shape[2] != Config.TileSize || images.shape[3] != Config.TileSize)
            throw new KarmaException(
                $"The model expects tiles shaped [batch, {Config.Bands} bands, {Config.TileSize}, {Config.TileSize}]; got [{string.Join(", ", images.shape)}]. " +
                "Tile the scene with the model's tile size and make its bands match the model's.");
    }
}
