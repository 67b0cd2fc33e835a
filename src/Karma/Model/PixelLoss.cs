using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Karma.Model;

/// <summary>
/// What the loss needs from each pixel's predicted and target spectra, [..., bands] → [...]: the Huber loss averaged
/// over bands, the spectral angle between the two spectra in radians (the training form,
/// <see cref="KarmaLoss.AngleFromCosine"/>), and the target's energy ‖y‖² (a constant of the physics term).
/// </summary>
public sealed record PixelTerms(Tensor Huber, Tensor Angle, Tensor TargetEnergy);

/// <summary>
/// Computes <see cref="PixelTerms"/> forward and backward in one pass over the pixels each.
/// <para>
/// On a CPU these terms are bound by memory traffic, not arithmetic. Composed from tensor operations they read and
/// write tensors as large as the reconstruction about a dozen times per step: huber_loss writes the element-wise loss
/// and then its gradient, the dot products write a·b, and autograd adds the Huber and the angle gradients. That was
/// most of KARMA's cost over a plain MAE on the CPU presets. Here the forward reads prediction and target once; the
/// backward reads them once more and writes the prediction's gradient once, as g_h/bands·clamp(p − t, ±δ) + k₁·t + k₂·p
/// with k₁ = g_c/√s, k₂ = −g_c·c·‖t‖²/s, s = ‖p‖²‖t‖² + ε, where the cosine's gradient g_c is the angle's times
/// dθ/dc = −2/√((2 − 2c + ε)(2 + 2c + ε)). The angle itself is computed per pixel in the same pass (in double, from the
/// three float sums): as tensor operations on the [B, N, P²] cosines it was a dozen more dispatches forward and
/// backward, 0.3–0.5 ms of a 40 ms tiny-preset step. The spectral angle then costs next to nothing beside the Huber loss
/// that an MAE pays for anyway.
/// (Folding the physics term's Aᵀy and its endmember gradient into these passes was tried: hand-written, those M dot
/// products per pixel ran slower than the BLAS matmul that reads the target once more, so they stay a matmul.)
/// </para>
/// <para>
/// Float32 tensors on the CPU take this path; any other device or type, and a target that itself needs a gradient, take
/// <see cref="Composed"/>, the same terms from tensor operations, which the tests hold this kernel to.
/// </para>
/// </summary>
public sealed class PixelLoss : MultiTensorFunction<PixelLoss>
{
    const double Eps = 1e-12;

    /// <inheritdoc/>
    public override string Name => nameof(PixelLoss);

    /// <summary>The terms of [..., bands] spectra with Huber threshold <paramref name="delta"/>.</summary>
    public static PixelTerms Of(Tensor prediction, Tensor target, double delta)
    {
        bool kernel = prediction.device_type == DeviceType.CPU && target.device_type == DeviceType.CPU
            && prediction.dtype == ScalarType.Float32 && target.dtype == ScalarType.Float32
            && !target.requires_grad && prediction.shape.SequenceEqual(target.shape);
        if (!kernel) return Composed(prediction, target, delta);
        var outputs = apply(prediction, target, delta);
        return new(outputs[0], outputs[1], outputs[2]);
    }

    /// <summary>The same terms from tensor operations, for every device and type.</summary>
    public static PixelTerms Composed(Tensor prediction, Tensor target, double delta)
    {
        using var scope = NewDisposeScope();
        var huber = KarmaLoss.Huber(prediction, target, delta).mean([-1L]);
        var energy = linalg.vecdot(target, target);
        var cosine = linalg.vecdot(prediction, target) / (linalg.vecdot(prediction, prediction) * energy + Eps).sqrt();
        var angle = KarmaLoss.AngleFromCosine(cosine);
        return new(huber.MoveToOuterDisposeScope(), angle.MoveToOuterDisposeScope(), energy.MoveToOuterDisposeScope());
    }

    /// <inheritdoc/>
    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        // No dispose scope: saved tensors must outlive forward; the caller's scope disposes them.
        var prediction = ((Tensor)vars[0]).contiguous();
        var target = ((Tensor)vars[1]).contiguous();
        var delta = (float)(double)vars[2];
        long[] pixelShape = prediction.shape[..^1];
        int bands = (int)prediction.shape[^1];
        long pixels = prediction.numel() / Math.Max(1, bands);
        var huber = empty(pixelShape);
        var angle = empty(pixelShape);
        var energy = empty(pixelShape);
        var sums = empty(pixels, 2);                                        // ‖p‖², p·t per pixel, for the backward
        var (p, t) = (CpuKernels.Address(prediction), CpuKernels.Address(target));
        var (h, c, e, s) = (CpuKernels.Address(huber), CpuKernels.Address(angle), CpuKernels.Address(energy), CpuKernels.Address(sums));
        CpuKernels.ForEachPixel(pixels, pixel => ForwardPixel(p, t, h, c, e, s, pixel, bands, delta));
        ctx.save_for_backward([prediction, target, sums, energy]);
        ctx.save_data(nameof(delta), delta);
        ctx.mark_non_differentiable([energy]);
        // A term the loss does not use (the angle of a plain MAE) gets no gradient; zeros would be made for it in a
        // tensor that the caller's dispose scope has already freed by the time backward runs.
        ctx.set_materialize_grads(false);
        return [huber, angle, energy];
    }

    /// <inheritdoc/>
    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grads)
    {
        var saved = ctx.get_saved_variables();
        var (prediction, target, sums, energy) = (saved[0], saved[1], saved[2], saved[3]);
        var delta = (float)ctx.get_data("delta");
        Tensor? Defined(Tensor g) => g.IsInvalid ? null : g.contiguous();
        using var gradHuber = Defined(grads[0]);
        using var gradAngle = Defined(grads[1]);
        int bands = (int)prediction.shape[^1];
        var gradient = empty_like(prediction);
        var (p, t, s, e, g) = (CpuKernels.Address(prediction), CpuKernels.Address(target), CpuKernels.Address(sums), CpuKernels.Address(energy), CpuKernels.Address(gradient));
        var (gh, ga) = (CpuKernels.Address(gradHuber), CpuKernels.Address(gradAngle));
        CpuKernels.ForEachPixel(sums.shape[0], pixel => BackwardPixel(p, t, s, e, gh, ga, g, pixel, bands, delta));
        foreach (var tensor in saved) tensor.Dispose();
        return [gradient, null!, null!];
    }

    static unsafe void ForwardPixel(nint predictions, nint targets, nint huber, nint angle, nint energy, nint sums, long pixel, int bands, float delta)
    {
        float* p = (float*)predictions + pixel * bands, t = (float*)targets + pixel * bands;
        var (deltaV, halfDeltaV, half) = (new Vector<float>(delta), new Vector<float>(delta / 2), new Vector<float>(0.5f));
        Vector<float> h = default, pp = default, tt = default, pt = default;
        int i = 0;
        for (; i <= bands - Vector<float>.Count; i += Vector<float>.Count)
        {
            var (a, b) = (Vector.Load(p + i), Vector.Load(t + i));
            var d = a - b;
            var ad = Vector.Abs(d);
            h += Vector.ConditionalSelect(Vector.LessThan(ad, deltaV), half * d * d, deltaV * (ad - halfDeltaV));
            pp += a * a;
            tt += b * b;
            pt += a * b;
        }
        float hs = Vector.Sum(h), pps = Vector.Sum(pp), tts = Vector.Sum(tt), pts = Vector.Sum(pt);
        for (; i < bands; i++)
        {
            float a = p[i], b = t[i], ad = MathF.Abs(a - b);
            hs += ad < delta ? 0.5f * ad * ad : delta * (ad - delta / 2);
            pps += a * a;
            tts += b * b;
            pts += a * b;
        }
        ((float*)huber)[pixel] = hs / bands;
        ((float*)angle)[pixel] = (float)Angle(pts / Math.Sqrt((double)pps * tts + Eps));
        ((float*)energy)[pixel] = tts;
        (((float*)sums)[pixel * 2], ((float*)sums)[pixel * 2 + 1]) = (pps, pts);
    }

    /// <summary>
    /// The angle from its cosine as <see cref="KarmaLoss.AngleFromCosine"/> computes it, 2·atan2(√(2 − 2c + ε), √(2 + 2c + ε))
    /// with c clamped to [−1, 1], and its derivative dθ/dc = −2/√((2 − 2c + ε)(2 + 2c + ε)) (zero where the clamp holds c).
    /// </summary>
    static double Angle(double cosine)
    {
        double c = Math.Clamp(cosine, -1, 1);
        return 2 * Math.Atan2(Math.Sqrt(2 - 2 * c + Eps), Math.Sqrt(2 + 2 * c + Eps));
    }

    static double AngleSlope(double cosine) =>
        cosine < -1 || cosine > 1 ? 0 : -2 / Math.Sqrt((2 - 2 * cosine + Eps) * (2 + 2 * cosine + Eps));

    /// <summary>One pixel's gradient; a gradient address of 0 stands for a term without gradient.</summary>
    static unsafe void BackwardPixel(nint predictions, nint targets, nint sums, nint energies, nint gradHuber, nint gradAngle,
        nint gradients, long pixel, int bands, float delta)
    {
        float* p = (float*)predictions + pixel * bands, t = (float*)targets + pixel * bands, g = (float*)gradients + pixel * bands;
        double gh = gradHuber == 0 ? 0 : ((float*)gradHuber)[pixel], ga = gradAngle == 0 ? 0 : ((float*)gradAngle)[pixel];
        if (gh == 0 && ga == 0)
        {
            new Span<float>(g, bands).Clear();                               // e.g. a visible patch: nothing to read
            return;
        }
        double pp = ((float*)sums)[pixel * 2], pt = ((float*)sums)[pixel * 2 + 1], tt = ((float*)energies)[pixel];
        double s = pp * tt + Eps, root = Math.Sqrt(s), c = pt / root, gc = ga == 0 ? 0 : ga * AngleSlope(c);
        float huberScale = (float)(gh / bands), onTarget = (float)(gc / root), onPrediction = (float)(-gc * c * tt / s);
        var (deltaV, minusDeltaV) = (new Vector<float>(delta), new Vector<float>(-delta));
        var (huberV, targetV, predictionV) = (new Vector<float>(huberScale), new Vector<float>(onTarget), new Vector<float>(onPrediction));
        int i = 0;
        for (; i <= bands - Vector<float>.Count; i += Vector<float>.Count)
        {
            var (a, b) = (Vector.Load(p + i), Vector.Load(t + i));
            var clipped = Vector.Min(Vector.Max(a - b, minusDeltaV), deltaV);
            (huberV * clipped + targetV * b + predictionV * a).Store(g + i);
        }
        for (; i < bands; i++)
            g[i] = huberScale * Math.Clamp(p[i] - t[i], -delta, delta) + onTarget * t[i] + onPrediction * p[i];
    }
}
