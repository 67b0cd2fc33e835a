using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Model;

public class KarmaLossTests
{
    public KarmaLossTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Huber_matches_its_definition_on_hand_values()
    {
        var prediction = tensor(new double[] { 0.0, 0.5, 2.0, -3.0 });
        var target = tensor(new double[] { 0.0, 0.0, 0.0, 0.0 });
        // δ = 1: 0 → 0; 0.5 → ½·0.25 = 0.125; 2 → 1·(2 − ½) = 1.5; −3 → 1·(3 − ½) = 2.5
        Assert.Equal(new[] { 0.0, 0.125, 1.5, 2.5 }, KarmaLoss.Huber(prediction, target, 1.0).data<double>().ToArray());
        // δ = 0.5: 0.5 is on the boundary → 0.5·(0.5 − 0.25) = 0.125 (both branches agree there); 2 → 0.5·1.75 = 0.875
        Assert.Equal(new[] { 0.0, 0.125, 0.875, 1.375 }, KarmaLoss.Huber(prediction, target, 0.5).data<double>().ToArray());
        var libtorch = nn.functional.huber_loss(prediction, target, reduction: nn.Reduction.None, delta: 0.5);
        Assert.True(libtorch.allclose(KarmaLoss.Huber(prediction, target, 0.5)));
    }

    [Fact]
    public void Spectral_angle_matches_hand_values()
    {
        var a = tensor(new double[] { 1, 0, 0, 1, 1, 0 }, 2, 3);
        var b = tensor(new double[] { 0, 1, 0, 1, 0, 0 }, 2, 3);
        var angles = KarmaLoss.SpectralAngle(a, b).data<double>().ToArray();
        Assert.Equal(Math.PI / 2, angles[0], 6);
        Assert.Equal(Math.PI / 4, angles[1], 6);
    }

    [Fact]
    public void Spectral_angle_is_scale_invariant_and_zero_for_identical_spectra_with_finite_gradients()
    {
        manual_seed(1);
        var a = (rand(5, 50) + 0.1).requires_grad_(true);
        var b = rand(5, 50) + 0.1;
        var angle = KarmaLoss.SpectralAngle(a, b);
        Assert.True(angle.allclose(KarmaLoss.SpectralAngle(a * 3.7, b), atol: 1e-6));
        Assert.True(angle.allclose(KarmaLoss.SpectralAngle(a, b * 0.01), atol: 1e-6));

        var same = KarmaLoss.SpectralAngle(a, a.detach());
        Assert.True(same.abs().max().item<float>() < 1e-3); // √ε bias only
        same.sum().backward();
        Assert.True(a.grad!.isfinite().all().item<bool>());
    }

    [Fact]
    public void Training_form_of_the_spectral_angle_agrees_with_the_exact_one_and_keeps_gradients_finite()
    {
        manual_seed(2);
        var a = (rand(200, 218) + 0.05).requires_grad_(true);
        var b = a.detach() + 0.05 * randn(200, 218);                       // angles of a few degrees
        var exact = KarmaLoss.SpectralAngle(a, b);
        Tensor SpectralAngleLoss(Tensor x, Tensor y) => PixelLoss.Of(x, y, 1.0).Angle;
        var loss = SpectralAngleLoss(a, b);
        Assert.True((exact - loss).abs().max().item<float>() < 0.05 * Math.PI / 180, "more than 0.05° apart");
        Assert.True(loss.allclose(SpectralAngleLoss(a * 3.7, b), atol: 1e-5));
        var hand = SpectralAngleLoss(tensor(new double[] { 1, 0, 0, 1, 1, 0 }, 2, 3), tensor(new double[] { 0, 1, 0, 1, 0, 0 }, 2, 3)).data<double>().ToArray();
        Assert.Equal(Math.PI / 2, hand[0], 6);
        Assert.Equal(Math.PI / 4, hand[1], 6);

        foreach (var (x, y) in new[] { (a, a.detach()), (zeros(3, 218).requires_grad_(true), ones(3, 218)) })
        {
            SpectralAngleLoss(x, y).sum().backward();
            Assert.True(x.grad!.isfinite().all().item<bool>());
        }
    }

    [Fact]
    public void Spectral_angle_of_a_zero_spectrum_is_finite_with_finite_gradients()
    {
        var zero = zeros(1, 10).requires_grad_(true);
        var b = ones(1, 10);
        var angle = KarmaLoss.SpectralAngle(zero, b);
        Assert.Equal(Math.PI / 2, angle.item<float>(), 4);
        angle.sum().backward();
        Assert.True(zero.grad!.isfinite().all().item<bool>());
    }

    [Fact]
    public void Pixel_losses_count_masked_patches_and_physics_every_patch_by_default()
    {
        var config = KarmaConfig.Tiny with { Variant = ModelVariant.Karma, Bands = 2, TileSize = 4, PatchSize = 2, EncoderDim = 8, EncoderHeads = 2, DecoderDim = 8, DecoderHeads = 2, Endmembers = 2 };
        // Two tokens per tile... four tokens: error 1 on token 0 (masked) and error 3 on token 3 (visible).
        var target = zeros(1, 4, 8);
        var recon = zeros(1, 4, 8);
        recon[0, 0] = ones(8) * 0.5;
        recon[0, 3] = ones(8) * 3;
        var mask = tensor(new float[] { 1, 1, 0, 0 }).view(1, 4);
        var masking = new TokenMasking { Mask = mask, Shuffle = tensor(new long[] { 2, 3, 0, 1 }).view(1, 4), Restore = tensor(new long[] { 2, 3, 0, 1 }).view(1, 4), Visible = 2 };
        var output = new KarmaOutput { Reconstruction = recon, Abundances = recon.view(1, 4, 4, 2).clone(), Endmembers = eye(2), Masking = masking };   // A·a = recon
        using var masked = KarmaLoss.Compute(output, target, config);
        // Masked tokens 0 (Huber ½·0.25 = 0.125) and 1 (0): mean 0.0625.
        Assert.Equal(0.0625, masked.Huber.item<float>(), 6);
        // Physics over all four tokens by default: squared errors 0.25, 0, 0, 9.
        Assert.Equal((0.25 + 0 + 0 + 9) / 4, masked.Physics!.item<float>(), 6);
        using var maskedPhysics = KarmaLoss.Compute(output, target, config with { PhysicsOnAllPatches = false });
        Assert.Equal((0.25 + 0) / 2, maskedPhysics.Physics!.item<float>(), 6);
        using var all = KarmaLoss.Compute(output, target, config with { LossOnMaskedOnly = false });
        Assert.Equal((0.125 + 2.5) / 4, all.Huber.item<float>(), 6);
        Assert.Equal(masked.Huber.item<float>() + 0.1 * masked.SpectralAngle!.item<float>() + masked.Physics.item<float>(), masked.Total.item<float>(), 5);

        // --physics-every k: k times the physics and cross-consistency terms' weights in the total, the terms themselves unscaled.
        var crossConfig = config with { PhysicsWeight = 0.7, CrossConsistencyWeight = 0.3 };
        var crossOutput = new KarmaOutput { Reconstruction = recon * 0.9, Abundances = recon.view(1, 4, 4, 2).clone(), Endmembers = eye(2), Masking = masking };
        using var once = KarmaLoss.Compute(crossOutput, target, crossConfig);
        using var thrice = KarmaLoss.Compute(crossOutput, target, crossConfig, physicsScale: 3);
        Assert.Equal(once.Physics!.item<float>(), thrice.Physics!.item<float>());
        Assert.Equal(once.CrossConsistency!.item<float>(), thrice.CrossConsistency!.item<float>());
        Assert.True(once.CrossConsistency.item<float>() > 0);
        Assert.Equal(once.Total.item<float>() + 2 * (0.7 * once.Physics.item<float>() + 0.3 * once.CrossConsistency.item<float>()), thrice.Total.item<float>(), 5);
    }

    [Fact]
    public void No_data_pixels_are_left_out_of_every_term()
    {
        var config = KarmaConfig.Tiny with { Variant = ModelVariant.Karma, Bands = 2, TileSize = 4, PatchSize = 2, EncoderDim = 8, EncoderHeads = 2, DecoderDim = 8, DecoderHeads = 2, Endmembers = 2 };
        var target = ones(1, 4, 8) * 0.5;
        var recon = target.clone();
        recon[0, 0, TensorIndex.Slice(0, 2)] = tensor(new float[] { 100, 100 });   // pixel 0 of token 0: huge error
        var mask = ones(1, 4);
        var order = tensor(new long[] { 0, 1, 2, 3 }).view(1, 4);
        var masking = new TokenMasking { Mask = mask, Shuffle = order, Restore = order, Visible = 0 };
        var output = new KarmaOutput { Reconstruction = recon, Abundances = recon.view(1, 4, 4, 2).clone(), Endmembers = eye(2), Masking = masking };   // A·a = recon
        var valid = ones(1, 4, 4);
        valid[0, 0, 0] = tensor(0f);                                                     // that pixel is no-data
        using var masked = KarmaLoss.Compute(output, target, config, valid);
        Assert.Equal(0, masked.Huber.item<float>(), 6);
        Assert.Equal(0, masked.Physics!.item<float>(), 6);
        Assert.Equal(0, masked.SpectralAngle!.item<float>(), 3);
        using var counted = KarmaLoss.Compute(output, target, config);
        Assert.True(counted.Huber.item<float>() > 1);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_physics_error_without_forming_the_mixture_equals_the_direct_one_in_value_and_gradient(bool perPixel)
    {
        manual_seed(5);
        const int b = 2, n = 3, pixels = 4, bands = 7, m = 3;
        var target = rand(b, n, pixels * bands);
        var logits = randn(b, n, perPixel ? pixels : 1, m).requires_grad_(true);
        var spectra = rand(bands, m).requires_grad_(true);
        var weights = randn(b, n, pixels);                        // a different upstream gradient for every pixel
        Tensor[] Gradients(Func<Tensor, Tensor, Tensor> error)
        {
            logits.grad?.zero_();
            spectra.grad?.zero_();
            using var loss = (error(logits.softmax(-1), spectra) * weights).sum();
            loss.backward();
            return [loss.detach().clone(), logits.grad!.clone(), spectra.grad!.clone()];
        }
        var direct = Gradients((a, e) => (LinearMixingBranch.Mix(a, e, pixels) - target).square().view(b, n, pixels, bands).mean([-1L]));
        var y = target.view(b, n, pixels, bands);
        var gram = Gradients((a, e) => LinearMixingBranch.MeanSquaredError(a, e, y, PixelLoss.Of(y, y, 1.0).TargetEnergy));
        foreach (var (d, g) in direct.Zip(gram))
            Assert.True(g.allclose(d, rtol: 1e-4, atol: 1e-6), $"max difference {(g - d).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData(31, 0.1)]    // vector steps and a scalar tail, both Huber branches
    [InlineData(5, 1.0)]     // fewer bands than one vector
    [InlineData(218, 0.3)]   // EnMAP's band count
    public void The_pixel_loss_kernel_matches_the_composed_terms_in_value_and_gradient(int bands, double delta)
    {
        manual_seed(7);
        var prediction = (rand(3, 5, bands) + 0.01).requires_grad_(true);
        var target = rand(3, 5, bands) + 0.01;
        var (huberWeights, angleWeights) = (randn(3, 5), randn(3, 5));
        huberWeights[0, 0] = tensor(0f);
        angleWeights[0, 0] = tensor(0f);                                   // a pixel neither term uses: zero gradient
        Tensor[] Run(Func<Tensor, Tensor, double, PixelTerms> terms)
        {
            prediction.grad?.zero_();
            var t = terms(prediction, target, delta);
            ((t.Huber * huberWeights).sum() + (t.Angle * angleWeights).sum()).backward();
            return [t.Huber.detach().clone(), t.Angle.detach().clone(), t.TargetEnergy.clone(), prediction.grad!.clone()];
        }
        var composed = Run(PixelLoss.Composed);
        var kernel = Run(PixelLoss.Of);
        foreach (var (name, k, c) in new[] { "Huber", "angle", "energy", "gradient" }.Zip(kernel, composed))
            Assert.True(k.allclose(c, rtol: 1e-4, atol: 1e-5), $"{name}: max difference {(k - c).abs().max().item<float>()}");
        Assert.Equal(0, kernel[3][0, 0].abs().sum().item<float>());
        // Views that start inside their storage are read from where they start.
        var padded = cat([zeros(1, 5, bands), target], 0);
        var offset = PixelLoss.Of(prediction.detach(), padded.narrow(0, 1, 3), delta);
        Assert.True(offset.Huber.allclose(composed[0], rtol: 1e-4, atol: 1e-5) && offset.Angle.allclose(composed[1], rtol: 1e-4, atol: 1e-5));
        Assert.False(PixelLoss.Of(prediction, target, delta).TargetEnergy.requires_grad);
    }

    [Fact]
    public void The_endmember_projection_matches_a_matmul_in_value_and_endmember_gradient()
    {
        manual_seed(9);
        var spectra = rand(2, 3, 4, 31);
        var endmembers = rand(31, 5).requires_grad_(true);
        var weights = randn(2, 3, 4, 5);
        (Tensor Value, Tensor Gradient) Run(Func<Tensor, Tensor, Tensor> project)
        {
            endmembers.grad?.zero_();
            var value = project(spectra, endmembers);
            (value * weights).sum().backward();
            return (value.detach().clone(), endmembers.grad!.clone());
        }
        var node = Run(EndmemberProjection.Of);
        var matmul = Run((y, a) => y.matmul(a));
        Assert.Equal(new long[] { 2, 3, 4, 5 }, node.Value.shape);
        Assert.True(node.Value.allclose(matmul.Value, rtol: 1e-5, atol: 1e-6));
        Assert.True(node.Gradient.allclose(matmul.Gradient, rtol: 1e-4, atol: 1e-5), $"{(node.Gradient - matmul.Gradient).abs().max().item<float>()}");
        // Spectra that need a gradient get one.
        var trained = spectra.clone().requires_grad_(true);
        EndmemberProjection.Of(trained, endmembers.detach()).sum().backward();
        Assert.True(trained.grad!.allclose(endmembers.detach().sum(1).expand(2, 3, 4, 31)));
    }

    [Fact]
    public void The_pixel_loss_has_the_hand_values_and_leaves_other_devices_types_and_trained_targets_to_tensor_operations()
    {
        // One pixel of 4 bands, δ = 1: errors 0, 0.5, 2, −3 → Huber 0, 0.125, 1.5, 2.5, mean 1.03125; p·t = 1, ‖p‖² = 5.25, ‖t‖² = 10 → angle acos(1/√52.5).
        var prediction = tensor(new float[] { 1, 0.5f, 2, 0 }).view(1, 4);
        var target = tensor(new float[] { 1, 0, 0, 3 }).view(1, 4);
        var terms = PixelLoss.Of(prediction, target, 1.0);
        Assert.Equal(1.03125, terms.Huber.item<float>(), 6);
        Assert.Equal(Math.Acos(1 / Math.Sqrt(5.25 * 10)), terms.Angle.item<float>(), 5);
        Assert.Equal(10, terms.TargetEnergy.item<float>(), 6);

        // A target that needs a gradient gets one (from the composed terms); so does float64.
        var trained = target.clone().requires_grad_(true);
        PixelLoss.Of(prediction, trained, 1.0).Angle.sum().backward();
        Assert.NotNull(trained.grad);
        var huber64 = PixelLoss.Of(prediction.to(ScalarType.Float64), target.to(ScalarType.Float64), 1.0).Huber;
        Assert.Equal(ScalarType.Float64, huber64.dtype);
        Assert.Equal(1.03125, huber64.item<double>(), 12);
    }
}
