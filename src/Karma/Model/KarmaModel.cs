using Karma.Data;
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
/// Input tiles are reflectance [B, bands, T, T] with a description of their bands (<see cref="SpectralBands"/>); the
/// encoder sees them standardised per band, and both heads predict reflectance, because linear mixing holds for
/// reflectance, not for standardised values.
/// With <see cref="SpectralEmbedding.Fixed"/> (the paper) the patch embedding and pixel head are linear maps of the
/// training bands. With <see cref="SpectralEmbedding.Wavelength"/> each pixel's bands are first projected onto
/// <see cref="KarmaConfig.SpectralDim"/> features with weights generated from every band's centre and width, and the
/// pixel head's per-pixel features are turned back into exactly the input's bands the same way, so one set of weights
/// reads and reconstructs any sensor; its standardisation and endmembers live on the fine grid (<see cref="SpectralGrid"/>).
/// The two baselines of <c>compare --baselines</c> are options of the same class: <see cref="SpectralEmbedding.Adapter"/>
/// (1-D convolutions along each pixel's bands) and <see cref="SpectralEmbedding.SpectralSpatial"/> (one token per patch and
/// band group; the decoder's tokens are averaged over groups wherever a per-patch vector is needed).
/// </summary>
public sealed class KarmaModel : Module<Tensor, SpectralBands?, TokenMasking, KarmaOutput>
{
    readonly Linear patchEmbed, decoderEmbed, pixelHead;
    readonly BandWeightGenerator? spectralEmbed, spectralHead;
    readonly Sequential? spectralAdapter;
    readonly ModuleList<TransformerBlock> encoderBlocks, decoderBlocks;
    readonly LayerNorm encoderNorm, decoderNorm;
    readonly Parameter maskToken;
    readonly LinearMixingBranch? physics;
    readonly Tensor encoderPos, decoderPos, bandMean, bandStd;
    readonly Dictionary<string, BandContext> contexts = [];
    readonly int groups;   // tokens per patch: band groups of a spectral-spatial model, else 1

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
        int d = config.EncoderDim, dd = config.DecoderDim, pixels = config.PatchSize * config.PatchSize;
        groups = config.ByBandGroup ? config.SpectralGroups : 1;
        patchEmbed = Linear(pixels * (config.ByBandGroup ? config.BandsPerGroup : config.PixelChannels), d);
        encoderBlocks = new ModuleList<TransformerBlock>(Enumerable.Range(0, config.EncoderDepth)
            .Select(i => new TransformerBlock($"encoder{i}", d, config.EncoderHeads, config.MlpRatio)).ToArray());
        encoderNorm = LayerNorm(d);
        decoderEmbed = Linear(d, dd);
        maskToken = new Parameter(randn(1, 1, dd) * 0.02);
        decoderBlocks = new ModuleList<TransformerBlock>(Enumerable.Range(0, config.DecoderDepth)
            .Select(i => new TransformerBlock($"decoder{i}", dd, config.DecoderHeads, config.MlpRatio)).ToArray());
        decoderNorm = LayerNorm(dd);
        pixelHead = Linear(dd, pixels * (config.ByBandGroup ? config.BandsPerGroup : config.HeadChannels));
        if (config.SpectralEmbedding == SpectralEmbedding.Adapter)
            spectralAdapter = Sequential(
                ("conv1", Conv1d(1, 16, 7, padding: 3)), ("gelu1", GELU()),
                ("conv2", Conv1d(16, 32, 7, stride: 2, padding: 3)), ("gelu2", GELU()),
                ("pool", AdaptiveAvgPool1d(8)), ("flatten", Flatten()),
                ("project", Linear(32 * 8, config.SpectralDim)));
        if (config.ByWavelength)
        {
            spectralEmbed = new BandWeightGenerator("spectralEmbed", config.SpectralDim);
            spectralHead = new BandWeightGenerator("spectralHead", config.SpectralDim + 1);
        }
        if (config.HasPhysicsBranch)
            physics = new LinearMixingBranch("physics", dd, config.ByWavelength ? SpectralGrid.Points : config.Bands, config.Endmembers, config.PatchSize,
                                             config.PerPixelAbundances, config.LearnEndmembers,
                                             config.AbundanceFromSpectrum ? config.PixelChannels : 0, config.AbundanceRefinementSteps);
        encoderPos = (config.ByBandGroup ? PositionEmbedding.SpectralSpatial(d, config.GridSize, groups) : PositionEmbedding.SineCosine2D(d, config.GridSize)).unsqueeze(0);
        decoderPos = (config.ByBandGroup ? PositionEmbedding.SpectralSpatial(dd, config.GridSize, groups) : PositionEmbedding.SineCosine2D(dd, config.GridSize)).unsqueeze(0);
        // Fixed: one statistic per training band. Wavelength: one per grid point, read at any band through its response.
        int statistics = config.ByWavelength ? SpectralGrid.Points : config.Bands;
        bandMean = zeros(statistics);
        bandStd = ones(statistics);
        RegisterComponents(); // also registers the four tensors above as buffers, saved with the weights
    }

    /// <summary>
    /// The standardisation statistics (reflectance): per training band for a fixed model, per grid wavelength
    /// (<see cref="SpectralGrid.Centres"/>) for a wavelength-aware one.
    /// </summary>
    public float[] BandMean => bandMean.cpu().data<float>().ToArray();

    /// <summary>Standard deviations matching <see cref="BandMean"/>.</summary>
    public float[] BandStd => bandStd.cpu().data<float>().ToArray();

    /// <summary>Sets the statistics used to standardise encoder input (<see cref="BandMean"/>'s layout).</summary>
    public void SetBandStatistics(ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        if (mean.Length != bandMean.shape[0] || std.Length != bandMean.shape[0])
            throw new BandMismatchException($"Band statistics need {bandMean.shape[0]} values each (got {mean.Length} and {std.Length}).");
        using var _ = no_grad();
        using var m = tensor(mean.ToArray());
        using var s = tensor(std.ToArray()).clamp_min(1e-6);
        bandMean.copy_(m);
        bandStd.copy_(s);
    }

    /// <summary>
    /// The description of <paramref name="bands"/> for this model on its device, made once and kept. A fixed model
    /// accepts only its own band count (a description is optional); a wavelength-aware model needs the description.
    /// </summary>
    public BandContext Context(SpectralBands? bands, long channels)
    {
        if (!Config.ByWavelength)
        {
            if (channels != Config.Bands || (bands is not null && bands.Count != channels))
                throw new BandMismatchException($"The model expects {Config.Bands} bands; got {channels}. Read the scene for the model (its bands are resampled to the model's), " +
                                         "or train a wavelength-aware model (spectral embedding 'wavelength') to read any band set.") { Settings = ["SpectralEmbedding"] };
            return BandContext.Fixed(Config.Bands, bands);
        }
        if (bands is null)
            throw new BandMismatchException("A wavelength-aware model needs the bands' centre wavelengths (describe them with a wavelength file, a range or a sensor table).") { Settings = ["Wavelengths", "Sensor"] };
        if (bands.Count != channels)
            throw new BandMismatchException($"The tiles have {channels} bands but their description {bands.Count}.");
        string key = BandContext.Key(bands, Device);
        if (!contexts.TryGetValue(key, out var context))
        {
            if (contexts.Count >= 64) ForgetContexts();
            contexts[key] = context = BandContext.For(bands, Device);
        }
        return context;
    }

    void ForgetContexts()
    {
        foreach (var c in contexts.Values) c.Dispose();
        contexts.Clear();
    }

    /// <summary>Masks, encodes and decodes <paramref name="images"/> ([B, bands, T, T] reflectance) whose bands <paramref name="bands"/> describes.</summary>
    public override KarmaOutput forward(Tensor images, SpectralBands? bands, TokenMasking masking) => Forward(images, bands, masking, withPhysics: true);

    /// <summary>
    /// <see cref="forward"/>, or without the physics branch when <paramref name="withPhysics"/> is false: the training steps
    /// <see cref="KarmaConfig.PhysicsEvery"/> leaves to the pixel head alone, which then pay what a plain MAE step pays.
    /// </summary>
    internal KarmaOutput Forward(Tensor images, SpectralBands? bands, TokenMasking masking, bool withPhysics)
    {
        CheckShape(images);
        var context = Context(bands, images.shape[1]);
        using var scope = NewDisposeScope();
        long b = images.shape[0];
        int n = Config.Tokens, visible = masking.Visible, pixels = Config.PatchSize * Config.PatchSize;
        var keep = masking.Shuffle[.., ..visible];                                                  // [B, V]
        var seen = PatchFeatures(images, context, keep);                                            // [B, V, P²·F]
        var latent = Encode(seen, keep);

        var y = decoderEmbed.call(latent);                                                         // [B, V·G, Dd]
        var filler = maskToken.expand(b, (n - visible) * groups, Config.DecoderDim);
        y = TokenMasking.Take(cat([y, filler], 1), GroupTokens(masking.Restore)) + decoderPos;
        foreach (var block in decoderBlocks) y = block.call(y);
        y = decoderNorm.call(y);                                                                   // [B, N·G, Dd]

        var reconstruction = Reconstruct(y, context);
        MixingOutput? mixing = null;
        Tensor? targets = null, physicsTokens = null;
        if (physics is not null && withPhysics)
        {
            targets = Config.AbundanceRefinementSteps > 0 ? Targets(images) : null;                   // [B, N, P²·bands]
            var features = Config.AbundanceFromSpectrum ? seen.view(b, visible, pixels, -1) : null;   // [B, V, P², F]
            if (training && Config.PhysicsShare < 1 && visible < n)
            {
                // A share of each tile's patches, visible and masked in proportion, read from the masking's random order:
                // the first sv visible and the first sm masked patches of the shuffle ([B, S], visible first). A masking
                // that hides nothing is an inference pass (abundance maps), which reads every patch even in training mode.
                var (sv, sm) = PhysicsSample(Config, visible);
                physicsTokens = cat([keep[.., ..sv], masking.Shuffle[.., visible..(visible + sm)]], 1);
                mixing = physics.call(new MixingInput(TokenMasking.Take(PerPatch(y), physicsTokens), context.Response,
                    Features: features?[.., ..sv],
                    Pixels: targets is null ? null : TokenMasking.Take(targets, physicsTokens).view(b, sv + sm, pixels, -1),
                    Visible: cat([ones(b, sv, device: images.device), zeros(b, sm, device: images.device)], 1)));
            }
            else
                mixing = physics.call(new MixingInput(PerPatch(y), context.Response,
                    Features: features,
                    Pixels: targets?.view(b, n, pixels, -1),
                    Visible: 1 - masking.Mask,
                    VisibleTokens: keep));
        }
        return new KarmaOutput
        {
            Reconstruction = reconstruction.MoveToOuterDisposeScope(),
            Abundances = mixing?.Abundances.MoveToOuterDisposeScope(),
            Endmembers = mixing?.Endmembers.MoveToOuterDisposeScope(),
            Targets = targets?.MoveToOuterDisposeScope(),
            TargetProjection = mixing?.Projection?.MoveToOuterDisposeScope(),
            PhysicsTokens = physicsTokens?.MoveToOuterDisposeScope(),
            Masking = masking,
        };
    }

    /// <summary>Encoder features of every patch with nothing masked: [B, N, D]. Used for embeddings and probes.</summary>
    public Tensor EncodeAll(Tensor images, SpectralBands? bands) => EncodeLayers(images, bands, 1)[0];

    /// <summary>
    /// The outputs of the encoder's last <paramref name="layers"/> blocks with nothing masked, each [B, N, D], the last
    /// one after the final norm (what <see cref="EncodeAll"/> gives) and the earlier ones through the same norm, so they
    /// share a scale: earlier blocks keep more of each patch's own spectrum, later ones more context.
    /// </summary>
    public IReadOnlyList<Tensor> EncodeLayers(Tensor images, SpectralBands? bands, int layers)
    {
        CheckShape(images);
        if (layers < 1 || layers > Config.EncoderDepth) throw new InvalidSettingException($"Encoder layers must be 1–{Config.EncoderDepth} (got {layers}).");
        var context = Context(bands, images.shape[1]);
        using var scope = NewDisposeScope();
        var x = patchEmbed.call(BandGroupTokens(PatchFeatures(images, context))) + encoderPos;
        var outputs = new List<Tensor>();
        for (int i = 0; i < encoderBlocks.Count; i++)
        {
            x = encoderBlocks[i].call(x);
            if (i >= encoderBlocks.Count - layers) outputs.Add(PerPatch(encoderNorm.call(x)));
        }
        foreach (var o in outputs) o.MoveToOuterDisposeScope();
        return outputs;
    }

    /// <summary>
    /// Per-pixel abundances of the physics branch with nothing masked: [B, M, T, T] (a per-patch model repeats
    /// each patch's mixture over its pixels). Throws for variants without the branch.
    /// </summary>
    public Tensor Abundances(Tensor images, SpectralBands? bands)
    {
        if (physics is null) throw new InvalidSettingException($"A {Config.Variant} model has no physics branch and so no abundances; unmix with a karma or huber+lsmm model, or with the vca-fcls method.") { Settings = ["Method"] };
        using var scope = NewDisposeScope();
        long b = images.shape[0];
        using var output = forward(images, bands, TokenMasking.None(b, Config.Tokens, images.device));
        int p = Config.PatchSize, g = Config.GridSize, m = Config.Endmembers;
        var a = output.Abundances!.expand(b, Config.Tokens, p * p, m)           // [B, N, P², M]
                      .reshape(b, g, g, p, p, m).permute(0, 5, 1, 3, 2, 4).reshape(b, m, g * p, g * p);
        return a.MoveToOuterDisposeScope();
    }

    /// <summary>The endmember spectra A [bands, M] as the physics branch mixes them for <paramref name="bands"/>.</summary>
    public Tensor Endmembers(SpectralBands? bands)
    {
        if (physics is null) throw new InvalidSettingException($"A {Config.Variant} model has no physics branch and so no endmembers.");
        return physics.Endmembers(Context(bands, bands?.Count ?? Config.Bands).Response);
    }

    /// <summary>
    /// The decoder's per-pixel features with nothing masked, [B, F, T, T]: for a wavelength-aware model the F = SpectralDim
    /// values the pixel head gives each pixel before per-band weights turn them into a spectrum (context from the whole
    /// tile, resolved per pixel rather than per patch); for a fixed-band model the reconstructed spectrum itself.
    /// </summary>
    public Tensor DecoderFeatures(Tensor images, SpectralBands? bands)
    {
        CheckShape(images);
        var context = Context(bands, images.shape[1]);
        using var scope = NewDisposeScope();
        long b = images.shape[0];
        int n = Config.Tokens, p = Config.PatchSize;
        var masking = TokenMasking.None(b, n, images.device);
        var latent = Encode(PatchFeatures(images, context), masking.Shuffle);                     // nothing masked: every patch in order
        var y = decoderEmbed.call(latent) + decoderPos;
        foreach (var block in decoderBlocks) y = block.call(y);
        y = decoderNorm.call(y);
        var perPixel = spectralHead is null ? Reconstruct(y, context) : pixelHead.call(y);     // [B, N, P²·F]
        return Patches.Unpatchify(perPixel, p, (int)(perPixel.shape[2] / (p * p))).MoveToOuterDisposeScope();
    }

    /// <summary>Draws a masking for a batch of <paramref name="batch"/> tiles with this model's ratio.</summary>
    public TokenMasking SampleMasking(long batch, Generator? generator = null) =>
        TokenMasking.Sample(batch, Config.Tokens, Config.VisibleTokens, generator, encoderPos.device);

    /// <summary>
    /// Visible and masked patches per tile the physics branch reads in a training step with <see cref="KarmaConfig.PhysicsShare"/>
    /// below 1: that share of each, rounded, and at least one visible patch (the FCLS steps and the pixel head train on those).
    /// </summary>
    internal static (int Visible, int Masked) PhysicsSample(KarmaConfig config, int visible) =>
        (Math.Max(1, (int)Math.Round(config.PhysicsShare * visible, MidpointRounding.AwayFromZero)),
         (int)Math.Round(config.PhysicsShare * (config.Tokens - visible), MidpointRounding.AwayFromZero));

    /// <summary>Tiles in token layout [B, N, P²·bands], the target both heads are compared with.</summary>
    public Tensor Targets(Tensor images) => Patches.Patchify(images, Config.PatchSize);

    /// <summary>Number of per-pixel values <see cref="SpectralFeatures(Tensor, SpectralBands?)"/> gives: the bands, or the spectral features.</summary>
    public int SpectralFeatureCount => Config.PixelChannels;

    /// <summary>
    /// What the encoder reads of each pixel, [B, F, T, T]: the spectrum standardised per band (fixed model) or its
    /// projection onto the spectral features (wavelength-aware). Segmentation uses it as a skip from each pixel's own spectrum.
    /// </summary>
    public Tensor SpectralFeatures(Tensor images, SpectralBands? bands) => SpectralFeatures(images, Context(bands, images.shape[1]));

    /// <summary>
    /// The spectral features of every patch, or of each tile's patches <paramref name="keep"/> ([B, K]), as tokens
    /// [B, K, P²·F]: the standardised spectra cut straight from the tiles in one pass that reads only the kept patches
    /// (<see cref="Patches.Tokens"/>), then, for a wavelength-aware model, each pixel's projection onto the spectral
    /// features: the same values as <see cref="SpectralFeatures(Tensor, BandContext)"/> cut into patches, with the
    /// projection paid for the kept pixels alone.
    /// </summary>
    internal Tensor PatchFeatures(Tensor images, BandContext context, Tensor? keep = null)
    {
        using var scope = NewDisposeScope();
        if (spectralAdapter is not null)
        {
            var all = Patches.Patchify(SpectralFeatures(images, context), Config.PatchSize);
            return (keep is null ? all : TokenMasking.Take(all, keep)).MoveToOuterDisposeScope();
        }
        var (mean, std) = Statistics(context);
        var tokens = Patches.Tokens(images, Config.PatchSize, keep, mean, std);                     // [B, K, P²·C]
        if (spectralEmbed is null) return tokens.MoveToOuterDisposeScope();
        long b = tokens.shape[0], k = tokens.shape[1];
        return tokens.view(b, k, Config.PatchSize * Config.PatchSize, context.Count).matmul(EmbeddingWeights(context)).view(b, k, -1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A wavelength-aware model's projection of a pixel's standardised bands onto the spectral features, [C, F]: each
    /// feature is (1/C)·Σ_c w_c·x̃_c, the mean over bands, so that its scale does not depend on how many bands there are.
    /// </summary>
    Tensor EmbeddingWeights(BandContext context) => spectralEmbed!.call(context.Codes!) / context.Count;

    /// <summary>Per-band mean and standard deviation [bands] of the standardisation, for the bands of <paramref name="context"/>.</summary>
    (Tensor Mean, Tensor Std) Statistics(BandContext context) => context.Response is { } r
        ? (r.matmul(bandMean), r.matmul(bandStd).clamp_min(1e-6))
        : (bandMean.alias(), bandStd.alias());

    Tensor SpectralFeatures(Tensor images, BandContext context)
    {
        using var scope = NewDisposeScope();
        var (mean, std) = Statistics(context);
        var standardised = (images - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1);
        if (spectralAdapter is not null)
        {
            // Every pixel's spectrum as a one-channel sequence through the 1-D convolutions: [B·T·T, 1, C] → [B·T·T, F].
            long b = images.shape[0], c = images.shape[1], t = images.shape[2];
            var sequences = standardised.permute(0, 2, 3, 1).reshape(b * t * t, 1, c);
            return spectralAdapter.call(sequences).view(b, t, t, -1).permute(0, 3, 1, 2).MoveToOuterDisposeScope();
        }
        if (spectralEmbed is null) return standardised.MoveToOuterDisposeScope();
        return standardised.permute(0, 2, 3, 1).matmul(EmbeddingWeights(context)).permute(0, 3, 1, 2).MoveToOuterDisposeScope();
    }

    /// <summary>Decoder tokens [B, N·G, Dd] → reconstruction [B, N, P²·bands] in reflectance.</summary>
    Tensor Reconstruct(Tensor y, BandContext context)
    {
        if (groups > 1)
        {
            // Each (patch, group) token predicts its cube [P², bands per group]; the groups are laid back side by side.
            long bb = y.shape[0], nn = y.shape[1] / groups;
            int p2 = Config.PatchSize * Config.PatchSize, per = Config.BandsPerGroup;
            return pixelHead.call(y).view(bb, nn, groups, p2, per).permute(0, 1, 3, 2, 4).reshape(bb, nn, p2, groups * per)
                                    [.., .., .., ..Config.Bands].reshape(bb, nn, p2 * Config.Bands);
        }
        if (spectralHead is null) return pixelHead.call(y);
        using var scope = NewDisposeScope();
        long b = y.shape[0], n = y.shape[1];
        int pixels = Config.PatchSize * Config.PatchSize, f = Config.SpectralDim;
        var hidden = pixelHead.call(y).view(b, n, pixels, f);                                 // [B, N, P², F]
        var generated = spectralHead.call(context.Codes!);                                     // [C, F + 1]
        var standardised = hidden.matmul(generated[.., ..f].t()) + generated[.., f];            // [B, N, P², C]
        var (mean, std) = Statistics(context);
        return (standardised * std + mean).reshape(b, n, pixels * context.Count).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The kept patches' spectral features [B, K, P²·F] (patches <paramref name="keep"/> [B, K] of the grid) → encoder
    /// output [B, K·G, D]. Only the kept patches are embedded: masked ones are never read.
    /// </summary>
    Tensor Encode(Tensor seen, Tensor keep)
    {
        long b = seen.shape[0];
        var kept = GroupTokens(keep);                                                             // [B, K·G]
        var positions = encoderPos.squeeze(0).index_select(0, kept.reshape(-1)).view(b, kept.shape[1], Config.EncoderDim);
        var x = patchEmbed.call(BandGroupTokens(seen)) + positions;                               // [B, K·G, D]
        foreach (var block in encoderBlocks) x = block.call(x);
        return encoderNorm.call(x);
    }

    /// <summary>
    /// Patch tokens [B, N, P²·C] → (patch, band group) tokens [B, N·G, P²·C/G], the bands zero-padded to G groups of
    /// equal size; the identity for one group.
    /// </summary>
    Tensor BandGroupTokens(Tensor features)
    {
        if (groups == 1) return features;
        using var scope = NewDisposeScope();
        long b = features.shape[0], n = features.shape[1];
        int p2 = Config.PatchSize * Config.PatchSize, per = Config.BandsPerGroup;
        var spectra = features.view(b, n, p2, -1);
        long pad = (long)groups * per - spectra.shape[3];
        if (pad > 0) spectra = nn.functional.pad(spectra, [0, pad]);
        return spectra.view(b, n, p2, groups, per).permute(0, 1, 3, 2, 4).reshape(b, n * groups, p2 * per).MoveToOuterDisposeScope();
    }

    /// <summary>Patch indices [B, K] → the indices of their band-group tokens [B, K·G] (patch·G + group); the identity for one group.</summary>
    Tensor GroupTokens(Tensor patches)
    {
        if (groups == 1) return patches;
        using var offsets = arange(groups, dtype: patches.dtype, device: patches.device);
        return (patches.unsqueeze(-1) * groups + offsets).view(patches.shape[0], -1);
    }

    /// <summary>Per-token vectors [B, N·G, D] → per-patch vectors [B, N, D] (the mean over a patch's band groups); the identity for one group.</summary>
    Tensor PerPatch(Tensor tokens) => groups == 1 ? tokens : tokens.view(tokens.shape[0], -1, groups, tokens.shape[2]).mean([2]);

    void CheckShape(Tensor images)
    {
        if (images.dim() != 4 || images.shape[2] != Config.TileSize || images.shape[3] != Config.TileSize || (!Config.ByWavelength && images.shape[1] != Config.Bands))
            throw new BandMismatchException(
                $"The model expects tiles shaped [batch, {(Config.ByWavelength ? "any number of" : Config.Bands.ToString())} bands, {Config.TileSize}, {Config.TileSize}]; " +
                $"got [{string.Join(", ", images.shape)}]. Tile the scene with the model's tile size" + (Config.ByWavelength ? "." : " and make its bands match the model's."));
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) ForgetContexts();
        base.Dispose(disposing);
    }
}
