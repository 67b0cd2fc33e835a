using System.Text.Json.Serialization;

namespace Karma.Model;

/// <summary>Which loss terms (and so which decoder branches) a model trains with.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ModelVariant>))]
public enum ModelVariant
{
    /// <summary>Plain MAE: pixel head, Huber loss only, no physics branch.</summary>
    Mae,
    /// <summary>Huber + spectral angle, no physics branch.</summary>
    HuberSam,
    /// <summary>Huber + physics consistency (linear spectral mixing branch), no spectral angle.</summary>
    HuberLsmm,
    /// <summary>KARMA: Huber + spectral angle + physics consistency.</summary>
    Karma,
}

/// <summary>How the endmember matrix A of the physics branch is initialised before training.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EndmemberInitialisation>))]
public enum EndmemberInitialisation
{
    /// <summary>The purest training pixels, found by vertex component analysis.</summary>
    Vca,
    /// <summary>Independent random reflectance per band and endmember.</summary>
    Random,
    /// <summary>The spectra of a spectral library (<see cref="KarmaConfig.EndmemberLibrary"/>), resampled to the model's bands.</summary>
    Library,
}

/// <summary>How a model reads and writes the bands of a spectrum.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SpectralEmbedding>))]
public enum SpectralEmbedding
{
    /// <summary>
    /// A fixed linear map of the training data's band set (the paper's ViT-MAE patch embedding and pixel head): the
    /// model reads only that band set, and other sensors must be resampled onto it.
    /// </summary>
    Fixed,
    /// <summary>
    /// Weights generated from each band's centre and width (<see cref="BandWeightGenerator"/>): one model reads and
    /// reconstructs any band set, endmembers live on a fine wavelength grid (<see cref="SpectralGrid"/>), and inputs are
    /// standardised by per-wavelength statistics.
    /// </summary>
    Wavelength,
    /// <summary>
    /// A spectral adapter in the manner of SpectralEarth: each pixel's standardised spectrum goes through 1-D convolutions
    /// along the bands and is pooled to <see cref="KarmaConfig.SpectralDim"/> features before the patch embedding; the
    /// pixel head reconstructs the training band set (a baseline for <c>compare --baselines</c>).
    /// </summary>
    Adapter,
    /// <summary>
    /// Spectral-spatial tokens in the manner of SpectralGPT: each patch is cut along the bands into
    /// <see cref="KarmaConfig.SpectralGroups"/> groups and every (patch, group) cube becomes its own token with a spatial and
    /// a spectral position; the encoder attends across space and band groups. Masking hides a patch's every group
    /// (so the masked pixels are the same as for the other models), and the pixel head rebuilds each cube's bands
    /// (a baseline for <c>compare --baselines</c>).
    /// </summary>
    SpectralSpatial,
}

/// <summary>
/// Every number that defines a KARMA model and its loss. Stored as JSON in each checkpoint so a model
/// can be rebuilt exactly. Named presets: <see cref="Tiny"/> and <see cref="Small"/> train on a laptop CPU
/// in minutes; <see cref="Paper"/> is the published setting (224×224 tiles, 16×16 patches, D=512).
/// </summary>
public sealed record KarmaConfig
{
    /// <summary>Preset the configuration started from ("tiny", "small", "paper" or "custom").</summary>
    public string Preset { get; init; } = "custom";
    /// <summary>Loss terms and branches.</summary>
    public ModelVariant Variant { get; init; } = ModelVariant.Karma;
    /// <summary>
    /// Spectral bands per pixel; comes from the data. A <see cref="SpectralEmbedding.Wavelength"/> model reads any band
    /// count, and this is the training data's widest band set (for memory estimates and reports).
    /// </summary>
    public int Bands { get; init; } = 218;
    /// <summary>Fixed band set (the paper, and every checkpoint before wavelength-aware models) or weights generated from band wavelengths.</summary>
    public SpectralEmbedding SpectralEmbedding { get; init; } = SpectralEmbedding.Fixed;
    /// <summary>
    /// Width of the per-pixel spectral features of a wavelength-aware model: each pixel's bands are projected onto this
    /// many values (with weights generated per band) before patches are embedded, and the pixel head predicts this many
    /// values per pixel that per-band weights turn into the bands asked for.
    /// </summary>
    public int SpectralDim { get; init; } = 64;
    /// <summary>Band groups per patch of a <see cref="SpectralEmbedding.SpectralSpatial"/> model: tokens per tile are patches × groups.</summary>
    public int SpectralGroups { get; init; } = 8;
    /// <summary>Tile side in pixels (tiles are square).</summary>
    public int TileSize { get; init; } = 224;
    /// <summary>Patch side in pixels; <see cref="TileSize"/> must be a multiple of it.</summary>
    public int PatchSize { get; init; } = 16;
    /// <summary>Encoder width D.</summary>
    public int EncoderDim { get; init; } = 512;
    /// <summary>Encoder transformer blocks.</summary>
    public int EncoderDepth { get; init; } = 12;
    /// <summary>Encoder attention heads.</summary>
    public int EncoderHeads { get; init; } = 8;
    /// <summary>Decoder width (the abundance head maps it to width/2, then to the endmembers).</summary>
    public int DecoderDim { get; init; } = 512;
    /// <summary>Decoder transformer blocks.</summary>
    public int DecoderDepth { get; init; } = 8;
    /// <summary>Decoder attention heads.</summary>
    public int DecoderHeads { get; init; } = 16;
    /// <summary>Hidden width of each block's MLP as a multiple of the block width.</summary>
    public double MlpRatio { get; init; } = 4.0;
    /// <summary>Fraction of patches hidden from the encoder.</summary>
    public double MaskRatio { get; init; } = 0.75;
    /// <summary>Number of endmembers M in the physics branch.</summary>
    public int Endmembers { get; init; } = 8;
    /// <summary>
    /// One abundance vector per pixel (true) or per patch (false, the paper's choice). Per pixel is the default
    /// for the CPU presets because users want abundance maps at pixel resolution and because the physics term
    /// compares A·a with every pixel's spectrum, which a patch-constant mixture cannot follow inside a patch.
    /// </summary>
    public bool PerPixelAbundances { get; init; } = true;
    /// <summary>
    /// Whether the abundance head also reads each visible pixel's own spectral features (per-pixel abundances only):
    /// a decoder token alone must describe P² pixels' mixtures, which it does poorly (see the README's unmixing section).
    /// </summary>
    public bool AbundanceFromSpectrum { get; init; }
    /// <summary>
    /// Unrolled FISTA steps of fully constrained least squares that refine visible pixels' abundances (per-pixel only;
    /// 0: none, the head's softmax is the answer).
    /// </summary>
    public int AbundanceRefinementSteps { get; init; }
    /// <summary>Whether the endmember matrix A is trained (false: kept at its initial spectra).</summary>
    public bool LearnEndmembers { get; init; } = true;
    /// <summary>
    /// How A starts: <see cref="EndmemberInitialisation.Vca"/> (default) takes the M purest training pixels found by
    /// vertex component analysis; <see cref="EndmemberInitialisation.Random"/> draws random spectra, which leaves
    /// every endmember alike and the abundances collapsed to a uniform mixture (see the README's findings).
    /// </summary>
    public EndmemberInitialisation EndmemberInit { get; init; } = EndmemberInitialisation.Vca;
    /// <summary>Spectral library (ENVI .sli or CSV) whose spectra start A when <see cref="EndmemberInit"/> is Library; M is its spectrum count.</summary>
    public string? EndmemberLibrary { get; init; }
    /// <summary>Weight λ1 of the Huber term.</summary>
    public double HuberWeight { get; init; } = 1.0;
    /// <summary>Weight λ2 of the spectral-angle term (radians).</summary>
    public double SamWeight { get; init; } = 0.1;
    /// <summary>Weight λ3 of the physics-consistency term.</summary>
    public double PhysicsWeight { get; init; } = 1.0;
    /// <summary>Optional weight of agreement between the physics and direct reconstructions.</summary>
    public double CrossConsistencyWeight { get; init; } = 0.0;
    /// <summary>Huber threshold δ.</summary>
    public double HuberDelta { get; init; } = 1.0;
    /// <summary>Compute the pixel losses (Huber, SAM) on masked patches only (the MAE convention) or on all patches.</summary>
    public bool LossOnMaskedOnly { get; init; } = true;
    /// <summary>
    /// Compute the physics-consistency term on every patch, visible ones included (default). Abundance maps are
    /// read with nothing masked, so the abundance head must also learn to unmix patches it sees; trained on
    /// masked patches only it never does, and its abundances stay a uniform mixture (see the README's findings).
    /// </summary>
    public bool PhysicsOnAllPatches { get; init; } = true;
    /// <summary>
    /// The share (0, 1] of each tile's patches the physics branch reads in a training step: round(share·V) visible ones (at
    /// least one) and round(share·(N − V)) masked ones, drawn anew each step from the masking's random order. Below 1 the
    /// physics term is estimated from fewer pixels, and the branch's per-pixel work (Aᵀy, the FCLS steps, the heads) falls
    /// with the share. The estimate is unbiased when those counts keep the visible-to-masked ratio exactly (0.25 on the
    /// CPU presets) and every patch has valid pixels; the step log's abundance spread and entropy then describe the sampled
    /// patches. Inference always reads every patch. 1 (default) reads them all, as the paper does; docs/performance.md
    /// measures 0.25 (cost, unmixing and anomaly scores).
    /// </summary>
    public double PhysicsShare { get; init; } = 1.0;
    /// <summary>
    /// The physics branch runs in one training step of every k (k ≥ 1): on steps Step % k = 0, with its terms weighted by k
    /// so that their sum over a run is unchanged; the other steps train the pixel head alone. Its cost is a fixed
    /// few milliseconds a step on the CPU presets (many small operations, not pixels: <see cref="PhysicsShare"/> cannot
    /// remove it), and k divides it. The abundance head and the endmembers then learn from one step in k: the other steps
    /// give them a zero gradient, so AdamW's moments carry them on, and their learning rate is √k times the rest's, since
    /// the second moment of a gradient k times larger once every k steps shrinks AdamW's normalised step by √k. Every
    /// preset runs the branch every step (1, as the paper does). k = 4 takes the CPU presets' overhead over a plain MAE
    /// from +10–22% to about +5%, and 400–600-step runs matched every step in unmixing, anomaly scores and held-out
    /// reconstruction, but longer runs learn slower where the branch teaches the trunk most: 2000 steps on the simulated
    /// scene lost 0.8–1.1 dB of held-out PSNR at k = 4 and about 2 dB at 8 (docs/performance.md). Pass it for short runs
    /// and timing-bound work.
    /// </summary>
    public int PhysicsEvery { get; init; } = 1;

    /// <summary>Patches per tile side.</summary>
    [JsonIgnore] public int GridSize => TileSize / PatchSize;
    /// <summary>Tokens per tile.</summary>
    [JsonIgnore] public int Tokens => GridSize * GridSize;
    /// <summary>Values in one patch of the training data: P²·bands.</summary>
    [JsonIgnore] public int PatchValues => PatchSize * PatchSize * Bands;
    /// <summary>Whether band weights are generated from wavelengths (<see cref="SpectralEmbedding.Wavelength"/>).</summary>
    [JsonIgnore] public bool ByWavelength => SpectralEmbedding == SpectralEmbedding.Wavelength;
    /// <summary>Values per pixel the patch embedding reads: the bands, or <see cref="SpectralDim"/> spectral features (wavelength, adapter).</summary>
    [JsonIgnore] public int PixelChannels => SpectralEmbedding is SpectralEmbedding.Fixed or SpectralEmbedding.SpectralSpatial ? Bands : SpectralDim;
    /// <summary>Whether tokens are (patch, band group) cubes (<see cref="SpectralEmbedding.SpectralSpatial"/>).</summary>
    [JsonIgnore] public bool ByBandGroup => SpectralEmbedding == SpectralEmbedding.SpectralSpatial;
    /// <summary>Bands per group of a spectral-spatial model, the last group padded with zeros: ⌈bands / groups⌉.</summary>
    [JsonIgnore] public int BandsPerGroup => (Bands + SpectralGroups - 1) / SpectralGroups;
    /// <summary>Values per pixel the pixel head writes: <see cref="SpectralDim"/> features a wavelength-aware head turns into bands, else the bands.</summary>
    [JsonIgnore] public int HeadChannels => ByWavelength ? SpectralDim : Bands;
    /// <summary>Whether the linear-spectral-mixing branch exists.</summary>
    [JsonIgnore] public bool HasPhysicsBranch => Variant is ModelVariant.Karma or ModelVariant.HuberLsmm;
    /// <summary>Whether the spectral-angle term is trained.</summary>
    [JsonIgnore] public bool UsesSam => Variant is ModelVariant.Karma or ModelVariant.HuberSam;
    /// <summary>Visible patches per tile: N − round(ratio·N).</summary>
    [JsonIgnore] public int VisibleTokens => Tokens - (int)Math.Round(MaskRatio * Tokens, MidpointRounding.AwayFromZero);

    /// <summary>CPU preset: 32×32 tiles (the size of the real EnMAP tiles here), 8×8 patches, D=128, 4+2 blocks.</summary>
    public static KarmaConfig Tiny => new()
    {
        Preset = "tiny", TileSize = 32, PatchSize = 8, EncoderDim = 128, EncoderDepth = 4, EncoderHeads = 4,
        DecoderDim = 64, DecoderDepth = 2, DecoderHeads = 4, Endmembers = 5, SpectralDim = 64, AbundanceFromSpectrum = true, AbundanceRefinementSteps = 5,
    };

    /// <summary>CPU preset: 64×64 tiles, 8×8 patches, D=192, 6+2 blocks.</summary>
    public static KarmaConfig Small => new()
    {
        Preset = "small", TileSize = 64, PatchSize = 8, EncoderDim = 192, EncoderDepth = 6, EncoderHeads = 6,
        DecoderDim = 128, DecoderDepth = 2, DecoderHeads = 4, Endmembers = 6, SpectralDim = 96, AbundanceFromSpectrum = true, AbundanceRefinementSteps = 5,
    };

    /// <summary>The published setting: 224×224×218 tiles, 16×16 patches, D=512, 75% masking, per-patch abundances.</summary>
    public static KarmaConfig Paper => new()
    {
        Preset = "paper", Bands = 218, TileSize = 224, PatchSize = 16, EncoderDim = 512, EncoderDepth = 12, EncoderHeads = 8,
        DecoderDim = 512, DecoderDepth = 8, DecoderHeads = 16, Endmembers = 8, PerPixelAbundances = false, SpectralDim = 128,
    };

    /// <summary>Looks a preset up by name ("tiny", "small", "paper").</summary>
    public static KarmaConfig FromPreset(string name) => name.ToLowerInvariant() switch
    {
        "tiny" => Tiny,
        "small" => Small,
        "paper" => Paper,
        _ => throw new InvalidSettingException($"Unknown preset '{name}'. Choose tiny, small or paper."),
    };

    /// <summary>Parses a spectral embedding as the CLI spells it: fixed, wavelength, adapter or spectral-spatial.</summary>
    public static SpectralEmbedding ParseEmbedding(string name) => name.ToLowerInvariant() switch
    {
        "fixed" => SpectralEmbedding.Fixed,
        "wavelength" => SpectralEmbedding.Wavelength,
        "adapter" => SpectralEmbedding.Adapter,
        "spectral-spatial" => SpectralEmbedding.SpectralSpatial,
        _ => throw new InvalidSettingException($"Unknown spectral embedding '{KarmaException.Quote(name, 40)}'. Choose fixed, wavelength, adapter or spectral-spatial.") { Settings = ["SpectralEmbedding"] },
    };

    /// <summary>Parses a variant name as the CLI spells it: mae, huber+sam, huber+lsmm, karma.</summary>
    public static ModelVariant ParseVariant(string name) => name.ToLowerInvariant() switch
    {
        "mae" => ModelVariant.Mae,
        "huber+sam" => ModelVariant.HuberSam,
        "huber+lsmm" => ModelVariant.HuberLsmm,
        "karma" => ModelVariant.Karma,
        _ => throw new InvalidSettingException($"Unknown model '{name}'. Choose mae, huber+sam, huber+lsmm or karma."),
    };

    /// <summary>Throws a <see cref="KarmaException"/> that names the first inconsistent setting.</summary>
    public KarmaConfig Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new InvalidSettingException("Invalid model configuration: " + message); }
        Require(Preset is "tiny" or "small" or "paper" or "custom", $"unknown preset '{KarmaException.Quote(Preset, 40)}' (tiny, small, paper or custom).");
        Require(Bands >= 1, $"bands must be ≥ 1 (got {Bands}).");
        Require(PatchSize >= 1 && TileSize % PatchSize == 0, $"tile size {TileSize} must be a multiple of patch size {PatchSize}.");
        Require(EncoderDim % EncoderHeads == 0, $"encoder width {EncoderDim} must be divisible by {EncoderHeads} heads.");
        Require(DecoderDim % DecoderHeads == 0, $"decoder width {DecoderDim} must be divisible by {DecoderHeads} heads.");
        Require(DecoderDim >= 2, "decoder width must be ≥ 2.");
        Require(MaskRatio is >= 0 and < 1, $"mask ratio must be in [0, 1) (got {MaskRatio}).");
        Require(VisibleTokens >= 1, "at least one patch must stay visible.");
        Require(Endmembers >= 1, $"endmembers must be ≥ 1 (got {Endmembers}).");
        Require(HuberDelta > 0, "the Huber δ must be positive.");
        Require(!ByWavelength || SpectralDim >= 1, $"spectral features must be ≥ 1 (got {SpectralDim}).");
        Require(!ByBandGroup || (SpectralGroups >= 1 && SpectralGroups <= Bands), $"band groups must be 1–{Bands} (got {SpectralGroups}).");
        Require(!ByBandGroup || (EncoderDim % 16 == 0 && DecoderDim % 16 == 0), "spectral-spatial tokens need encoder and decoder widths divisible by 16 (their positions split 3:1 between space and band group).");
        Require(AbundanceRefinementSteps >= 0, $"abundance refinement steps must be ≥ 0 (got {AbundanceRefinementSteps}).");
        Require(PhysicsShare is > 0 and <= 1, $"the physics share must be in (0, 1] (got {PhysicsShare}).");
        Require(PhysicsEvery >= 1, $"the physics branch must run every k ≥ 1 steps (got {PhysicsEvery}).");
        return this;
    }
}
