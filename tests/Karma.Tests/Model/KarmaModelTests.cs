using Karma.Data;
using Karma.Model;
using Karma.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Karma.Tests.Model;

public class KarmaModelTests
{
    public KarmaModelTests() => TorchRuntime.EnsureLoaded();

    static KarmaConfig Micro(ModelVariant variant = ModelVariant.Karma, bool perPixel = true) => KarmaConfig.Tiny with
    {
        Variant = variant, Bands = 12, TileSize = 16, PatchSize = 4, EncoderDim = 32, EncoderDepth = 2, EncoderHeads = 4,
        DecoderDim = 16, DecoderDepth = 1, DecoderHeads = 2, Endmembers = 3, PerPixelAbundances = perPixel,
    };

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static Tensor Tiles(KarmaConfig c, int batch, int seed = 0)
    {
        using var g = new Generator((ulong)seed);
        return rand(new long[] { batch, c.Bands, c.TileSize, c.TileSize }, generator: g);
    }

    [Theory]
    [InlineData("tiny", 2)]
    [InlineData("small", 2)]
    [InlineData("paper", 1)]
    public void Every_preset_produces_the_documented_shapes(string preset, int batch)
    {
        var config = KarmaConfig.FromPreset(preset) with { Bands = preset == "paper" ? 218 : 30 };
        manual_seed(1);
        using var model = new KarmaModel(config);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = Tiles(config, batch);
        using var output = model.call(x, null, model.SampleMasking(batch));
        long n = config.Tokens, values = (long)config.PatchSize * config.PatchSize * config.Bands;
        Assert.Equal(new[] { batch, n, values }, output.Reconstruction.shape);
        Assert.Equal(new[] { batch, n, values }, output.PhysicsReconstruction!.shape);
        long k = config.PerPixelAbundances ? config.PatchSize * config.PatchSize : 1;
        Assert.Equal(new[] { batch, n, k, (long)config.Endmembers }, output.Abundances!.shape);
        Assert.Equal(new[] { (long)batch, n, config.EncoderDim }, model.EncodeAll(x, null).shape);
        if (preset == "paper")
        {
            Assert.Equal((224, 16, 512, 196, 49), (config.TileSize, config.PatchSize, config.EncoderDim, config.Tokens, config.VisibleTokens));
            Assert.False(config.PerPixelAbundances);
        }
    }

    [Theory]
    [InlineData(0.75, 16, 12)]
    [InlineData(0.5, 16, 8)]
    [InlineData(0.6, 16, 10)] // 9.6 rounds to 10
    public void Masking_hides_exactly_round_ratio_times_n_patches_and_repeats_with_the_seed(double ratio, int tokens, int masked)
    {
        var config = Micro() with { MaskRatio = ratio };
        Assert.Equal(tokens, config.Tokens);
        using var g1 = new Generator(7);
        using var g2 = new Generator(7);
        using var g3 = new Generator(8);
        var m1 = TokenMasking.Sample(5, config.Tokens, config.VisibleTokens, g1);
        var m2 = TokenMasking.Sample(5, config.Tokens, config.VisibleTokens, g2);
        var m3 = TokenMasking.Sample(5, config.Tokens, config.VisibleTokens, g3);
        Assert.All(m1.Mask.sum(1).data<float>().ToArray(), s => Assert.Equal(masked, s));
        Assert.True(Same(m1.Mask, m2.Mask));
        Assert.False(Same(m1.Mask, m3.Mask));
        // Visible patches are exactly the first entries of the shuffle.
        var visibleMask = m1.Mask.gather(1, m1.Shuffle[.., ..config.VisibleTokens]);
        Assert.Equal(0f, visibleMask.sum().item<float>());
        // Different tiles in one batch get different masks.
        Assert.False(Same(m1.Mask[0], m1.Mask[1]) && Same(m1.Mask[1], m1.Mask[2]));
    }

    [Fact]
    public void Take_and_put_move_each_tiles_own_tokens_like_gather_and_scatter()
    {
        manual_seed(3);
        using var scope = NewDisposeScope();
        var tokens = randn(3, 6, 4, 5).requires_grad_(true);
        var masking = TokenMasking.Sample(3, 6, 2);
        var keep = masking.Shuffle[.., ..2];                                           // [3, 2], a different pair per tile
        var index = keep.view(3, 2, 1, 1).expand(3, 2, 4, 5);
        var taken = TokenMasking.Take(tokens, keep);
        Assert.True(Same(taken, tokens.gather(1, index)));
        var rows = randn(3, 2, 4, 5).requires_grad_(true);
        var filler = zeros(1, 1, 1, 5).requires_grad_(true);
        var put = TokenMasking.Put(filler.expand(3, 6, 4, 5), keep, rows);
        Assert.True(Same(put, filler.expand(3, 6, 4, 5).scatter(1, index, rows)));
        // Gradients: Take sends each row's gradient back to its own token; Put sends the kept rows' to the rows and the rest to the filler.
        var weights = randn(3, 6, 4, 5);
        (taken.sum() + (put * weights).sum()).backward();
        var expectedTokens = zeros(3, 6, 4, 5).scatter(1, index, ones(3, 2, 4, 5));
        Assert.True(Same(tokens.grad!, expectedTokens));
        Assert.True(Same(rows.grad!, weights.gather(1, index)));
        Assert.True(filler.grad!.allclose((weights * (1 - expectedTokens)).sum([0L, 1L, 2L]).view(1, 1, 1, 5), rtol: 1e-5, atol: 1e-5));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Abundances_are_non_negative_and_sum_to_one(bool perPixel)
    {
        var config = Micro(perPixel: perPixel);
        manual_seed(3);
        using var model = new KarmaModel(config);
        using var output = model.call(Tiles(config, 3) * 5, null, model.SampleMasking(3));
        var a = output.Abundances!;
        Assert.True(a.min().item<float>() >= 0);
        var sums = a.sum(-1);
        Assert.True((sums - 1).abs().max().item<float>() < 1e-5);
        // Physics reconstruction is A·a for each pixel.
        var endmembers = model.Physics!.Endmembers();
        var expected = a.matmul(endmembers.t());
        if (!perPixel) expected = expected.expand(3, config.Tokens, config.PatchSize * config.PatchSize, config.Bands);
        Assert.True(output.PhysicsReconstruction!.allclose(expected.reshape(3, config.Tokens, -1), rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Gradients_reach_the_endmembers_and_every_head()
    {
        var config = Micro();
        manual_seed(4);
        using var model = new KarmaModel(config);
        var x = Tiles(config, 2);
        using var output = model.call(x, null, model.SampleMasking(2));
        using var loss = KarmaLoss.Compute(output, model.Targets(x), config);
        loss.Total.backward();
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.NotNull(p.grad);
            Assert.True(p.grad!.abs().sum().item<float>() > 0, $"no gradient reaches {name}");
            Assert.True(p.grad!.isfinite().all().item<bool>(), $"non-finite gradient in {name}");
        }
        Assert.Contains(model.named_parameters(), p => p.name.Contains("endmember"));
        Assert.Contains(model.named_parameters(), p => p.name.Contains("abundanceHead"));
    }

    [Fact]
    public void A_forward_pass_without_the_physics_branch_reconstructs_the_same_and_forms_no_abundances()
    {
        var config = Micro() with { AbundanceFromSpectrum = true, AbundanceRefinementSteps = 3 };
        manual_seed(7);
        using var model = new KarmaModel(config);
        model.train();
        var x = Tiles(config, 2, seed: 4);
        using var g = new Generator(11);
        var masking = model.SampleMasking(2, g);
        using var with = model.Forward(x, null, masking, withPhysics: true);
        using var without = model.Forward(x, null, masking, withPhysics: false);
        Assert.True(Same(with.Reconstruction, without.Reconstruction));
        Assert.NotNull(with.Abundances);
        Assert.NotNull(with.Targets);
        Assert.Null(without.Abundances);
        Assert.Null(without.Endmembers);
        Assert.Null(without.Targets);
        Assert.Null(without.PhysicsReconstruction);
    }

    [Theory]
    [InlineData(SpectralEmbedding.Fixed)]
    [InlineData(SpectralEmbedding.Wavelength)]        // endmembers through the band set's response
    [InlineData(SpectralEmbedding.SpectralSpatial)]   // band-group tokens averaged per patch first
    public void A_physics_share_gives_the_sampled_patches_what_the_whole_branch_gives_them_and_the_loss_their_mean(SpectralEmbedding embedding)
    {
        // 16 patches, 4 visible: a share of 0.5 reads 2 visible and 6 masked patches per tile.
        var config = Micro() with { AbundanceFromSpectrum = true, AbundanceRefinementSteps = 3, SpectralEmbedding = embedding, SpectralDim = 8 };
        var bands = embedding == SpectralEmbedding.Wavelength ? new SpectralBands(Enumerable.Range(0, config.Bands).Select(i => 420 + 160.0 * i).ToArray(), null) : null;
        manual_seed(7);
        using var whole = new KarmaModel(config);
        using var part = new KarmaModel(config with { PhysicsShare = 0.5 });
        // The same weights by copy, not by reseeding: tests of other classes run in parallel and draw from the same global generator.
        part.load_state_dict(whole.state_dict());
        whole.train();
        part.train();
        var x = Tiles(config, 2, seed: 4);
        using var g = new Generator(11);
        var masking = whole.SampleMasking(2, g);
        using var all = whole.call(x, bands, masking);
        using var some = part.call(x, bands, masking);

        var tokens = some.PhysicsTokens!;
        Assert.Equal(new long[] { 2, 8 }, tokens.shape);
        Assert.Null(all.PhysicsTokens);
        // The first two visible and the first six masked patches of the masking's random order, so no patch twice.
        Assert.True(Same(tokens, cat([masking.Shuffle[.., ..2], masking.Shuffle[.., 4..10]], 1)));
        var hidden = TokenMasking.Take(masking.Mask, tokens);
        Assert.True(Same(hidden, tensor(new float[] { 0, 0, 1, 1, 1, 1, 1, 1 }).expand(2, 8)));
        for (int tile = 0; tile < 2; tile++) Assert.Equal(8, tokens[tile].unique().Item1.shape[0]);
        Assert.True(Same(some.Reconstruction, all.Reconstruction));
        // Heads, pixel features and FCLS steps work patch by patch: the sampled patches get the whole branch's values.
        Assert.True(some.Abundances!.allclose(TokenMasking.Take(all.Abundances!, tokens), rtol: 1e-5, atol: 1e-6));
        Assert.True(some.TargetProjection!.allclose(TokenMasking.Take(all.TargetProjection!, tokens), rtol: 1e-5, atol: 1e-6));

        // The physics term is the mean of the whole branch's per-patch errors over the sampled patches.
        var targets = whole.Targets(x);
        using var loss = KarmaLoss.Compute(some, targets, part.Config);
        var perPatch = (all.PhysicsReconstruction! - targets).square().mean([-1L]);                   // [B, N]
        Assert.Equal(TokenMasking.Take(perPatch, tokens).mean().item<float>(), loss.Physics!.item<float>(), 5);
        using (var reused = KarmaLoss.Compute(some, some.Targets!, part.Config))                        // Aᵀy from the forward pass
            Assert.Equal(loss.Physics.item<float>(), reused.Physics!.item<float>(), 5);
        using var wholeLoss = KarmaLoss.Compute(all, targets, config);
        Assert.Equal(wholeLoss.Huber.item<float>(), loss.Huber.item<float>(), 6);
        loss.Total.backward();
        foreach (var (name, p) in part.named_parameters())
            Assert.True(p.grad is { } grad && grad.abs().sum().item<float>() > 0, $"no gradient reaches {name}");

        // Outside training every patch is read, and so is every patch of a masking that hides nothing (abundance maps),
        // even from a model left in training mode.
        using (var maps = part.Abundances(x, bands))
        using (var wholeMaps = whole.Abundances(x, bands))
            Assert.True(maps.allclose(wholeMaps, rtol: 1e-5, atol: 1e-6));
        part.eval();
        using var inference = part.call(x, bands, whole.SampleMasking(2, g));
        Assert.Null(inference.PhysicsTokens);
        Assert.Equal(config.Tokens, inference.Abundances!.shape[1]);
    }

    [Theory]
    [InlineData(true, 3, true, 0.0)]
    [InlineData(true, 0, false, 0.5)]     // only masked patches count; the cross term compares the sampled reconstructions
    [InlineData(false, 0, true, 0.0)]     // per-patch abundances (the paper's), no FCLS steps
    public void A_sampled_physics_term_averages_the_whole_branchs_errors_over_the_sampled_valid_pixels(bool perPixel, int steps, bool allPatches, double cross)
    {
        var config = Micro(perPixel: perPixel) with
        {
            AbundanceFromSpectrum = perPixel, AbundanceRefinementSteps = steps, PhysicsOnAllPatches = allPatches, CrossConsistencyWeight = cross,
        };
        manual_seed(8);
        using var whole = new KarmaModel(config);
        using var part = new KarmaModel(config with { PhysicsShare = 0.5 });
        // The same weights by copy, not by reseeding: tests of other classes run in parallel and draw from the same global generator.
        part.load_state_dict(whole.state_dict());
        var x = Tiles(config, 2, seed: 5);
        using var g = new Generator(12);
        var masking = whole.SampleMasking(2, g);
        using var all = whole.call(x, null, masking);
        using var some = part.call(x, null, masking);
        var targets = whole.Targets(x);
        int pixels = config.PatchSize * config.PatchSize;
        // No-data: every pixel of each tile's first sampled masked patch, and a scattered tenth of the rest.
        using var pick = new Generator(13);
        var valid = (rand(new long[] { 2, config.Tokens, pixels }, generator: pick) > 0.1).to_type(ScalarType.Float32);
        var tokens = some.PhysicsTokens!;
        for (int tile = 0; tile < 2; tile++) valid[tile, tokens[tile, 2].item<long>()] = zeros(pixels);
        using var loss = KarmaLoss.Compute(some, targets, part.Config, valid);

        // By hand from the whole branch: per-pixel errors → per-patch means over valid pixels → weighted mean over the
        // sampled patches that have any valid pixel.
        float Expected(Tensor perPixel, Tensor weights)
        {
            var v = TokenMasking.Take(valid, tokens);
            var count = v.sum(-1);
            var perPatch = (TokenMasking.Take(perPixel, tokens) * v).sum(-1) / count.clamp_min(1);
            var w = TokenMasking.Take(weights, tokens) * (count > 0).to_type(ScalarType.Float32);
            return ((perPatch * w).sum() / w.sum()).item<float>();
        }
        var bands = config.Bands;
        var physicsError = (all.PhysicsReconstruction! - targets).square().view(2, config.Tokens, pixels, bands).mean([-1L]);
        Assert.Equal(Expected(physicsError, allPatches ? ones_like(masking.Mask) : masking.Mask), loss.Physics!.item<float>(), 5);
        if (cross > 0)
        {
            var crossError = (all.PhysicsReconstruction! - all.Reconstruction).square().view(2, config.Tokens, pixels, bands).mean([-1L]);
            Assert.Equal(Expected(crossError, masking.Mask), loss.CrossConsistency!.item<float>(), 5);
        }
    }

    [Theory]
    [InlineData(0.25, 0.75, 1, 3)]
    [InlineData(0.3, 0.75, 1, 4)]
    [InlineData(0.1, 0.75, 1, 1)]     // at least one visible patch
    [InlineData(0.5, 0.5, 4, 4)]
    public void The_physics_share_rounds_each_count_and_keeps_a_visible_patch(double share, double maskRatio, int visible, int masked)
    {
        var config = Micro() with { PhysicsShare = share, MaskRatio = maskRatio };    // 16 patches
        Assert.Equal((visible, masked), KarmaModel.PhysicsSample(config, config.VisibleTokens));
    }

    [Fact]
    public void Mae_variant_has_no_physics_parameters()
    {
        using var mae = new KarmaModel(Micro(ModelVariant.Mae));
        using var karma = new KarmaModel(Micro(ModelVariant.Karma));
        Assert.Null(mae.Physics);
        Assert.DoesNotContain(mae.named_parameters(), p => p.name.StartsWith("physics"));
        var maeNames = mae.named_parameters().Select(p => p.name).ToHashSet();
        var karmaNames = karma.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Subset(karmaNames, maeNames);
        Assert.All(karmaNames.Except(maeNames), n => Assert.StartsWith("physics", n));
        using var output = mae.call(Tiles(Micro(), 1), null, mae.SampleMasking(1));
        Assert.Null(output.PhysicsReconstruction);
    }

    [Fact]
    public void Endmembers_stay_non_negative_can_be_set_and_frozen()
    {
        var config = Micro();
        using var model = new KarmaModel(config);
        var physics = model.Physics!;
        Assert.True(physics.Endmembers().min().item<float>() > 0);
        var spectra = rand(config.Bands, config.Endmembers) * 0.8 + 0.01;
        physics.SetEndmembers(spectra, learnable: false);
        Assert.True(physics.Endmembers().allclose(spectra, rtol: 1e-4, atol: 1e-5));
        Assert.False(physics.LearnsEndmembers);
        var x = Tiles(config, 1);
        using var output = model.call(x, null, model.SampleMasking(1));
        using var loss = KarmaLoss.Compute(output, model.Targets(x), config);
        loss.Total.backward();
        Assert.Contains(model.named_parameters(), p => p.name.Contains("endmember") && p.parameter.grad is null);
        Assert.ThrowsAny<KarmaException>(() => physics.SetEndmembers(rand(config.Bands + 1, config.Endmembers), true));
    }

    [Fact]
    public void Save_then_load_gives_identical_outputs_and_metadata()
    {
        var config = Micro();
        manual_seed(5);
        using var model = new KarmaModel(config);
        model.SetBandStatistics(Enumerable.Range(0, config.Bands).Select(i => 0.1f * i).ToArray(), Enumerable.Repeat(0.5f, config.Bands).ToArray());
        model.eval();
        using var dir = new TempDir();
        var wavelengths = Enumerable.Range(0, config.Bands).Select(i => 400.0 + 10 * i).ToArray();
        ModelCheckpoint.Save(model, dir.File("ckpt"), wavelengths);
        ModelCheckpoint.Save(model, dir.File("ckpt"), wavelengths); // replacing an existing checkpoint works
        var (loaded, meta) = ModelCheckpoint.Load(dir.File("ckpt"));
        using (loaded)
        {
            Assert.Equal(config, meta.Config);
            Assert.Equal(wavelengths, meta.Wavelengths);
            Assert.Equal(0.1f * 3, meta.BandMean[3], 6);
            var x = Tiles(config, 2, seed: 9);
            using var g1 = new Generator(11);
            using var g2 = new Generator(11);
            using var _ = no_grad();
            using var a = model.call(x, null, model.SampleMasking(2, g1));
            using var b = loaded.call(x, null, loaded.SampleMasking(2, g2));
            Assert.True(Same(a.Reconstruction, b.Reconstruction));
            Assert.True(Same(a.PhysicsReconstruction!, b.PhysicsReconstruction!));
        }
        Assert.DoesNotContain(Directory.GetDirectories(dir.Path), d => !d.EndsWith("ckpt"));
    }

    [Fact]
    public void Band_mismatch_is_explained()
    {
        var meta = new ModelCheckpoint.Metadata(Micro(), Enumerable.Range(0, 12).Select(i => 400.0 + 10 * i).ToArray(), new float[12], new float[12]);
        var count = Assert.ThrowsAny<KarmaException>(() => ModelCheckpoint.CheckBands(meta, 13, null, "scene.hdr"));
        Assert.Contains("13 bands", count.Message);
        var shifted = Enumerable.Range(0, 12).Select(i => 400.0 + 10 * i + (i == 4 ? 5 : 0)).ToArray();
        var wl = Assert.ThrowsAny<KarmaException>(() => ModelCheckpoint.CheckBands(meta, 12, shifted, "scene.hdr"));
        Assert.Contains("band 4", wl.Message);
        ModelCheckpoint.CheckBands(meta, 12, meta.Wavelengths, "scene.hdr");
    }

    [Fact]
    public void Wrong_tile_shape_is_rejected_with_the_expected_shape()
    {
        var config = Micro();
        using var model = new KarmaModel(config);
        var e = Assert.ThrowsAny<KarmaException>(() => model.call(rand(1, config.Bands + 1, 16, 16), null, model.SampleMasking(1)));
        Assert.Contains("[batch, 12 bands, 16, 16]", e.Message);
    }

    [Fact]
    public void Patchify_and_unpatchify_are_inverse_and_keep_pixel_spectra_contiguous()
    {
        var x = arange(2 * 3 * 8 * 8, dtype: float32).reshape(2, 3, 8, 8);
        var tokens = Patches.Patchify(x, 4);
        Assert.Equal(new long[] { 2, 4, 48 }, tokens.shape);
        Assert.True(Same(Patches.Unpatchify(tokens, 4, 3), x));
        // Token 1 is the top-right patch; its pixel 0 is (row 0, col 4); values 0..2 are its spectrum.
        var spectrum = tokens[0, 1, ..3];
        Assert.True(Same(spectrum, x[0, .., 0, 4]));
    }

    [Theory]
    [InlineData(8)]   // the kernel: 8×8 blocks (on a CPU with AVX)
    [InlineData(16)]  // the kernel, two blocks per pixel row (the paper's patches)
    [InlineData(4)]   // tensor operations
    public void The_token_cutting_kernel_equals_the_tensor_operations(int patch)
    {
        manual_seed(12);
        using var scope = NewDisposeScope();
        var images = rand(3, 13, 4 * patch, 4 * patch);                 // 16 patches, 13 bands: one block of 8 and 5 left over
        var (mean, std) = (rand(13), rand(13) + 0.5);
        var keep = TokenMasking.Sample(3, 16, 5).Shuffle[.., ..5];
        var standardised = (images - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1);
        Assert.True(Same(Patches.Tokens(images, patch), Patches.Patchify(images, patch)));
        Assert.True(Same(Patches.Tokens(images, patch, keep), TokenMasking.Take(Patches.Patchify(images, patch), keep)));
        Assert.True(Same(Patches.Tokens(images, patch, null, mean, std), Patches.Patchify(standardised, patch)));
        Assert.True(Same(Patches.Tokens(images, patch, keep, mean, std), TokenMasking.Take(Patches.Patchify(standardised, patch), keep)));
        // Tiles that need a gradient take the tensor path, and the gradient reaches every value that was kept.
        var trained = images.clone().requires_grad_(true);
        var tokens = Patches.Tokens(trained, patch, keep, mean, std);
        Assert.True(Same(tokens.detach(), Patches.Tokens(images, patch, keep, mean, std)));
        tokens.sum().backward();
        Assert.Equal(3 * 5 * patch * patch * 13, (int)trained.grad!.ne(0).sum().item<long>());
        Assert.Throws<ArgumentOutOfRangeException>(() => Patches.Tokens(images, patch, full(3, 5, 16L)));
        Assert.True(Same(Patches.Tokens(images, patch, keep.to_type(ScalarType.Int32), mean, std), Patches.Tokens(images, patch, keep, mean, std)));
    }

    [Fact]
    public void Tiles_stacked_already_turned_equal_each_tile_turned_with_its_mask()
    {
        var random = new Random(4);
        var tiles = new Karma.Data.TileSet
        {
            TileSize = 5, Bands = 3,
            Tiles = Enumerable.Range(0, 8).Select(i => new Karma.Data.TileSet.Tile("t", 0, i, Enumerable.Range(0, 75).Select(_ => (float)random.NextDouble()).ToArray(),
                                                                                   Enumerable.Range(0, 25).Select(_ => random.Next(4) == 0).ToArray())).ToList(),
        };
        int[] indices = [3, 0, 7, 1, 6, 2, 5, 4], turns = [0, 1, 2, 3, 4, 5, 6, 7];
        var batch = TileBatch.Batch(tiles, indices, turns);
        var valid = TileBatch.ValidPixels(tiles, indices, turns)!;
        var plain = TileBatch.Batch(tiles, indices);
        var plainValid = TileBatch.ValidPixels(tiles, indices)!;
        for (int i = 0; i < 8; i++)
        {
            Assert.True(Same(batch[i], TileBatch.Turn(plain[i], turns[i])), $"turn {turns[i]}");
            Assert.True(Same(valid[i], TileBatch.Turn(plainValid[i], turns[i])), $"mask, turn {turns[i]}");
        }
        Assert.True(Same(plain[1], tensor(tiles.Tiles[0].Values, 3, 5, 5)));
        Assert.Throws<ArgumentException>(() => TileBatch.Batch(tiles, indices, [1, 2]));
        Assert.Throws<ArgumentException>(() => TileBatch.Stack([new float[75], new float[74]], 3, 5));
    }

    [Fact]
    public void Position_embeddings_are_bounded_and_distinct()
    {
        var pos = PositionEmbedding.SineCosine2D(16, 4);
        Assert.Equal(new long[] { 16, 16 }, pos.shape);
        Assert.True(pos.abs().max().item<float>() <= 1f);
        var distances = cdist(pos, pos);
        Assert.True((distances + eye(16) * 10).min().item<float>() > 1e-3);
    }
}
