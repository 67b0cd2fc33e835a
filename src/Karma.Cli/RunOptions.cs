using System.CommandLine;
using Karma.Data;
using Karma.Model;
using Karma.Training;

namespace Karma.Cli;

/// <summary>
/// The options shared by <c>pretrain</c> and <c>compare</c>: data, held-out data, preset, model, step budget,
/// optimiser settings, tiling and band selection, turned into a <see cref="RunSpec"/>.
/// </summary>
sealed class RunOptions
{
    public readonly Option<string[]> Data = new("--data") { Description = "Scenes (ENVI, GeoTIFF, .mat[:variable], EnMAP L2A; SCENE@SPEC describes its bands) or folders of them. Default: a simulated scene.", AllowMultipleArgumentsPerToken = true };
    public readonly Option<string[]> Holdout = new("--holdout") { Description = "Held-out scenes or folders for validation. Default: the bottom quarter of each scene's rows (whole scenes when they are one tile tall).", AllowMultipleArgumentsPerToken = true };
    public readonly Option<string> Embedding = new("--spectral-embedding") { Description = "fixed (one band set, the paper), wavelength (weights generated from band centres and widths: one model for any sensor), adapter (SpectralEarth-style 1-D convolutions) or spectral-spatial (SpectralGPT-style tokens per band group).", DefaultValueFactory = _ => "fixed" };
    public readonly Option<int?> SpectralGroups = new("--spectral-groups") { Description = "Band groups per patch of a spectral-spatial model (default 8)." };
    public readonly Option<int?> SpectralDim = new("--spectral-dim") { Description = "Per-pixel spectral features of a wavelength-aware model (default: the preset's)." };
    public readonly Option<string> Preset = new("--preset") { Description = "tiny, small or paper.", DefaultValueFactory = _ => "tiny" };
    public readonly Option<int?> Endmembers = new("--endmembers") { Description = "Endmembers M (default: the preset's)." };
    public readonly Option<int?> Steps = new("--steps") { Description = "Optimiser steps (default 200)." };
    public readonly Option<int?> Epochs = new("--epochs") { Description = "Passes over the training tiles (instead of --steps)." };
    public readonly Option<int> Batch = new("--batch") { Description = "Tiles per step.", DefaultValueFactory = _ => 8 };
    public readonly Option<double> LearningRate = new("--lr") { Description = "Peak learning rate (paper: 1e-4; CPU presets train faster at 1e-3).", DefaultValueFactory = _ => 1e-3 };
    public readonly Option<double> WeightDecay = new("--weight-decay") { Description = "AdamW weight decay on weight matrices.", DefaultValueFactory = _ => 0.05 };
    public readonly Option<int> Seed = new("--seed") { Description = "Random seed (weights, data order, masks).", DefaultValueFactory = _ => 0 };
    public readonly Option<int?> TileSize = new("--tile-size") { Description = "Tile side in pixels (default: the preset's)." };
    public readonly Option<int?> PatchSize = new("--patch-size") { Description = "Patch side in pixels (default: the preset's); must divide the tile size." };
    public readonly Option<int?> Stride = new("--stride") { Description = "Step between tiles (default: half a tile)." };
    public readonly Option<bool> DropWaterVapour = new("--drop-water-vapour") { Description = "Also drop bands in 1340–1460 nm and 1790–1960 nm." };
    public readonly Option<OverlapPolicy> Overlap = new("--overlap") { Description = "Where two spectrometers overlap (EnMAP near 900–1000 nm): keep every band, or keep only the lower or upper spectrometer's.", DefaultValueFactory = _ => OverlapPolicy.Keep };
    public readonly BandOptions BandDescriptions = new();
    public readonly Option<double?> MinWavelength = new("--min-wavelength") { Description = "Drop bands below this wavelength (nm)." };
    public readonly Option<double?> MaxWavelength = new("--max-wavelength") { Description = "Drop bands above this wavelength (nm)." };
    public readonly Option<int> CheckpointEvery = new("--checkpoint-every") { Description = "Write a resumable checkpoint every N steps (0: only at the end).", DefaultValueFactory = _ => 100 };
    public readonly Option<bool> NoAugment = new("--no-augment") { Description = "Do not flip/rotate training tiles." };
    public readonly Option<string> EndmemberInit = new("--endmember-init") { Description = "How A starts: vca (purest training pixels), random, or library:PATH.", DefaultValueFactory = _ => "vca" };
    public readonly Option<bool> SkipMemoryCheck = new("--skip-memory-check") { Description = "Start even when the memory estimate exceeds what is available." };
    public readonly Option<bool> FreezeEndmembers = new("--freeze-endmembers") { Description = "Keep A at its initial spectra (physically fixed endmembers)." };
    public readonly Option<string?> LossWeights = new("--loss-weights") { Description = "λ1,λ2,λ3: weights of the Huber, spectral-angle and physics terms (default 1,0.1,1)." };
    public readonly Option<double?> MaskRatio = new("--mask-ratio") { Description = "Fraction of patches hidden from the encoder (default 0.75)." };
    public readonly Option<double?> HuberDelta = new("--huber-delta") { Description = "Huber threshold δ (default 1)." };
    public readonly Option<string?> Encoder = new("--encoder") { Description = "Encoder WIDTHxDEPTHxHEADS, e.g. 192x6x6 (default: the preset's)." };
    public readonly Option<string?> Decoder = new("--decoder") { Description = "Decoder WIDTHxDEPTHxHEADS, e.g. 128x2x4 (default: the preset's)." };
    public readonly Option<bool> PerPatchAbundances = new("--per-patch-abundances") { Description = "One abundance vector per patch (the paper) instead of per pixel." };
    public readonly Option<bool?> AbundanceFromSpectrum = new("--abundance-from-spectrum") { Description = "The abundance head also reads each visible pixel's spectral features (default: the preset's)." };
    public readonly Option<int?> AbundanceSteps = new("--abundance-steps") { Description = "FISTA steps of fully constrained least squares refining visible pixels' abundances (default: the preset's; 0 = none)." };
    public readonly Option<int?> PhysicsEvery = new("--physics-every") { Description = "Run the physics branch in one training step of every K, its terms weighted by K (default 1 = every step, as the paper; 4 cuts the CPU presets' overhead to about +5% but slows long runs: docs/performance.md)." };
    public readonly Option<double?> PhysicsShare = new("--physics-share") { Description = "Share (0, 1] of each tile's patches the physics branch reads per training step (default 1 = all; 0.25 costs less at the same unmixing quality, docs/performance.md)." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Data, Holdout, Embedding, SpectralDim, SpectralGroups, Preset, Endmembers, Steps, Epochs, Batch, LearningRate, WeightDecay, Seed, TileSize, PatchSize, Stride,
                                              DropWaterVapour, Overlap, MinWavelength, MaxWavelength, CheckpointEvery, NoAugment, EndmemberInit, FreezeEndmembers, SkipMemoryCheck,
                                              LossWeights, MaskRatio, HuberDelta, Encoder, Decoder, PerPatchAbundances, AbundanceFromSpectrum, AbundanceSteps, PhysicsShare, PhysicsEvery })
            command.Options.Add(option);
        BandDescriptions.AddTo(command);
    }

    /// <summary>The run these options describe, for the given model variant.</summary>
    public RunSpec Spec(ParseResult parse, ModelVariant variant)
    {
        Validate(parse);
        var config = KarmaConfig.FromPreset(parse.GetValue(Preset)!) with { Variant = variant, SpectralEmbedding = KarmaConfig.ParseEmbedding(parse.GetValue(Embedding)!) };
        if (parse.GetValue(SpectralDim) is int f) config = config with { SpectralDim = f };
        if (parse.GetValue(SpectralGroups) is int g) config = config with { SpectralGroups = g };
        if (parse.GetValue(Endmembers) is int m) config = config with { Endmembers = m };
        if (parse.GetValue(TileSize) is int t) config = config with { TileSize = t };
        if (parse.GetValue(PatchSize) is int p) config = config with { PatchSize = p };
        config = WithEndmemberInit(config, parse.GetValue(EndmemberInit)!) with { LearnEndmembers = !parse.GetValue(FreezeEndmembers) };
        config = WithModelSettings(config, parse);
        config.Validate();
        if (parse.GetValue(Steps) is not null && parse.GetValue(Epochs) is not null)
            throw new KarmaException("Give either --steps or --epochs, not both.");
        return new RunSpec
        {
            Config = config,
            Data = Scenes(parse, Data, config.TileSize),
            Holdout = Scenes(parse, Holdout, config.TileSize),
            Epochs = parse.GetValue(Epochs),
            Training = new TrainingOptions
            {
                Steps = parse.GetValue(Steps) ?? 200, BatchSize = parse.GetValue(Batch), LearningRate = parse.GetValue(LearningRate),
                WeightDecay = parse.GetValue(WeightDecay), Seed = parse.GetValue(Seed), CheckpointEvery = parse.GetValue(CheckpointEvery),
                Augment = !parse.GetValue(NoAugment), CheckMemory = !parse.GetValue(SkipMemoryCheck),
            },
            Tiling = new TilingOptions
            {
                TileSize = config.TileSize, Stride = parse.GetValue(Stride),
                Bands = new BandSelection
                {
                    DropWindows = parse.GetValue(DropWaterVapour) ? BandSelection.WaterVapourWindows : [],
                    MinWavelength = parse.GetValue(MinWavelength), MaxWavelength = parse.GetValue(MaxWavelength), Overlap = parse.GetValue(Overlap),
                },
            },
        };
    }

    /// <summary>Refuses numeric options out of their range before any work starts, naming the option.</summary>
    void Validate(ParseResult parse)
    {
        static void Require(bool ok, string option, string what, object? got)
        {
            if (!ok) throw new KarmaException($"{option} must be {what} (got {Convert.ToString(got, System.Globalization.CultureInfo.InvariantCulture)}).");
        }
        Require(parse.GetValue(Steps) is not int s || s >= 1, "--steps", "at least 1", parse.GetValue(Steps));
        Require(parse.GetValue(Epochs) is not int e || e >= 1, "--epochs", "at least 1", parse.GetValue(Epochs));
        Require(parse.GetValue(SpectralGroups) is not int sg || sg >= 1, "--spectral-groups", "at least 1", parse.GetValue(SpectralGroups));
        Require(parse.GetValue(Batch) >= 1, "--batch", "at least 1", parse.GetValue(Batch));
        Require(double.IsFinite(parse.GetValue(LearningRate)) && parse.GetValue(LearningRate) > 0, "--lr", "a positive number", parse.GetValue(LearningRate));
        Require(double.IsFinite(parse.GetValue(WeightDecay)) && parse.GetValue(WeightDecay) >= 0, "--weight-decay", "a number ≥ 0", parse.GetValue(WeightDecay));
        Require(parse.GetValue(TileSize) is not int t || t >= 2, "--tile-size", "at least 2", parse.GetValue(TileSize));
        Require(parse.GetValue(PatchSize) is not int p || p >= 1, "--patch-size", "at least 1", parse.GetValue(PatchSize));
        Require(parse.GetValue(Stride) is not int st || st >= 1, "--stride", "at least 1", parse.GetValue(Stride));
        Require(parse.GetValue(Endmembers) is not int m || m is >= 2 and <= 256, "--endmembers", "between 2 and 256", parse.GetValue(Endmembers));
        Require(parse.GetValue(CheckpointEvery) >= 0, "--checkpoint-every", "0 or more", parse.GetValue(CheckpointEvery));
        Require(parse.GetValue(SpectralDim) is not int f || f >= 1, "--spectral-dim", "at least 1", parse.GetValue(SpectralDim));
        Require(parse.GetValue(MaskRatio) is not double r || (r >= 0 && r < 1), "--mask-ratio", "in [0, 1)", parse.GetValue(MaskRatio));
        Require(parse.GetValue(HuberDelta) is not double d || (double.IsFinite(d) && d > 0), "--huber-delta", "a positive number", parse.GetValue(HuberDelta));
        Require(parse.GetValue(AbundanceSteps) is not int k || k is >= 0 and <= 1000, "--abundance-steps", "between 0 and 1000", parse.GetValue(AbundanceSteps));
        Require(parse.GetValue(PhysicsShare) is not double share || share is > 0 and <= 1, "--physics-share", "in (0, 1]", parse.GetValue(PhysicsShare));
        Require(parse.GetValue(PhysicsEvery) is not int every || every is >= 1 and <= 100, "--physics-every", "between 1 and 100", parse.GetValue(PhysicsEvery));
        Require(parse.GetValue(MinWavelength) is not double lo || double.IsFinite(lo), "--min-wavelength", "a finite wavelength in nm", parse.GetValue(MinWavelength));
        Require(parse.GetValue(MaxWavelength) is not double hi || double.IsFinite(hi), "--max-wavelength", "a finite wavelength in nm", parse.GetValue(MaxWavelength));
    }

    /// <summary>The scenes an option names, folders expanded (what was skipped is printed) and band descriptions attached.</summary>
    string[] Scenes(ParseResult parse, Option<string[]> option, int tileSize)
    {
        var notes = new List<string>();
        var scenes = SceneCatalog.Expand(parse.GetValue(option) ?? [], notes, minSide: tileSize);
        foreach (var note in notes) Console.Error.WriteLine($"karma: note: {note}");
        return BandDescriptions.Apply(parse, scenes);
    }

    /// <summary>The model settings a user may tune (loss weights, mask ratio, widths, abundance options) applied to <paramref name="config"/>.</summary>
    KarmaConfig WithModelSettings(KarmaConfig config, ParseResult parse)
    {
        if (parse.GetValue(LossWeights) is { } weights)
        {
            var (huber, sam, physics) = ParseLossWeights(weights);
            config = config with { HuberWeight = huber, SamWeight = sam, PhysicsWeight = physics };
        }
        if (parse.GetValue(MaskRatio) is double ratio) config = config with { MaskRatio = ratio };
        if (parse.GetValue(HuberDelta) is double delta) config = config with { HuberDelta = delta };
        if (parse.GetValue(Encoder) is { } e)
        {
            var (w, d, h) = ParseBlocks(e, "--encoder");
            config = config with { EncoderDim = w, EncoderDepth = d, EncoderHeads = h };
        }
        if (parse.GetValue(Decoder) is { } dec)
        {
            var (w, d, h) = ParseBlocks(dec, "--decoder");
            config = config with { DecoderDim = w, DecoderDepth = d, DecoderHeads = h };
        }
        if (parse.GetValue(PerPatchAbundances)) config = config with { PerPixelAbundances = false };
        if (parse.GetValue(AbundanceFromSpectrum) is bool fromSpectrum) config = config with { AbundanceFromSpectrum = fromSpectrum };
        if (parse.GetValue(AbundanceSteps) is int steps) config = config with { AbundanceRefinementSteps = steps };
        if (parse.GetValue(PhysicsShare) is double physicsShare) config = config with { PhysicsShare = physicsShare };
        if (parse.GetValue(PhysicsEvery) is int physicsEvery) config = config with { PhysicsEvery = physicsEvery };
        return config;
    }

    /// <summary>"1,0.1,1" → (λ1, λ2, λ3); each a finite number ≥ 0.</summary>
    public static (double Huber, double Sam, double Physics) ParseLossWeights(string text)
    {
        var values = KarmaCli.Numbers(text, 3);
        if (values is null || values.Any(v => !double.IsFinite(v) || v < 0))
            throw new KarmaException($"--loss-weights takes three non-negative numbers HUBER,SAM,PHYSICS, e.g. 1,0.1,1 (got '{text}').");
        return (values[0], values[1], values[2]);
    }

    static (int Width, int Depth, int Heads) ParseBlocks(string text, string option)
    {
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length != 3 || !parts.All(p => int.TryParse(p, out int v) && v >= 1))
            throw new KarmaException($"{option} takes WIDTHxDEPTHxHEADS with positive integers, e.g. 192x6x6 (got '{text}').");
        return (int.Parse(parts[0]), int.Parse(parts[1]), int.Parse(parts[2]));
    }

    /// <summary>Applies an <c>--endmember-init</c> value: vca, random or library:PATH (which also sets M to the library's size).</summary>
    public static KarmaConfig WithEndmemberInit(KarmaConfig config, string value)
    {
        if (value.StartsWith("library:", StringComparison.OrdinalIgnoreCase))
        {
            string path = Path.GetFullPath(value["library:".Length..]);
            return config with { EndmemberInit = EndmemberInitialisation.Library, EndmemberLibrary = path, Endmembers = Unmixing.SpectralLibrary.Read(path).Names.Length };
        }
        return value.ToLowerInvariant() switch
        {
            "vca" => config with { EndmemberInit = EndmemberInitialisation.Vca },
            "random" => config with { EndmemberInit = EndmemberInitialisation.Random },
            _ => throw new KarmaException($"--endmember-init takes vca, random or library:PATH (got '{value}')."),
        };
    }
}
