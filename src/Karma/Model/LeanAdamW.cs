using System.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// TorchSharp's AdamW with a leaner step. For float32 CPU parameters the whole update of a parameter (decay, both
/// moments, bias corrections, the step) is one pass of a C# kernel over its values, gradient and moments: composed from
/// tensor operations it was nine passes and as many dispatches per parameter, 13–30 ms a step for the tiny preset's
/// 3.6 M weights in 92 tensors, more than its whole backward pass (docs/performance.md). The arithmetic is the same
/// in float32, in the same order; only where libtorch fuses a multiply and an add may the last bit differ (tested
/// within rounding against TorchSharp's AdamW). The kernel is elementwise, so its result does not depend on threads
/// and a resumed run still repeats exactly. Other devices and types take the same operations as tensor operations,
/// each parameter's temporaries freed as soon as it is updated (TorchSharp's own step keeps them all until the step
/// ends: ~1 GB of fresh memory a step at the paper preset).
/// State, parameter groups and <c>save_state_dict</c>/<c>load_state_dict</c> are the base class's, so checkpoints are
/// unchanged. AMSGrad and maximize are not supported.
/// </summary>
public sealed class LeanAdamW : AdamW
{
    /// <summary>An optimiser over <paramref name="groups"/>, each with its own learning rate, betas and weight decay.</summary>
    public LeanAdamW(IEnumerable<ParamGroup> groups, double lr) : base(groups, lr) { }

    /// <summary>Updates every parameter that has a gradient; evaluates <paramref name="closure"/> first when given.</summary>
    public override Tensor step(Func<Tensor>? closure = null)
    {
        Tensor? loss = null;
        if (closure is not null) using (enable_grad()) loss = closure();
        using var _ = no_grad();
        foreach (var group in _parameter_groups)
        {
            var options = (Options)group.Options;
            if (options.amsgrad == true || options.maximize == true) throw new NotSupportedException("LeanAdamW supports neither AMSGrad nor maximize.");
            double lr = options.LearningRate!.Value, beta1 = options.beta1!.Value, beta2 = options.beta2!.Value;
            double eps = options.eps!.Value, decay = options.weight_decay!.Value;
            foreach (var parameter in group.Parameters)
            {
                if (parameter.grad is not { } grad) continue;
                var state = (State)_state[parameter.Handle];
                state.step += 1;
                double correction1 = 1 - Math.Pow(beta1, state.step), correction2 = 1 - Math.Pow(beta2, state.step);
                if (Fusable(parameter, grad, state))
                {
                    Update(parameter, grad, state.exp_avg, state.exp_avg_sq, (float)(1 - lr * decay), (float)beta1, (float)(1 - beta1), (float)beta2,
                           (float)(1 - beta2), (float)Math.Sqrt(correction2), (float)eps, (float)(-lr / correction1));
                    continue;
                }
                using var scope = NewDisposeScope();
                if (decay != 0) parameter.mul_(1 - lr * decay);
                state.exp_avg.mul_(beta1).add_(grad, alpha: 1 - beta1);
                state.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value: 1 - beta2);
                var denominator = state.exp_avg_sq.sqrt().div_(Math.Sqrt(correction2)).add_(eps);
                parameter.addcdiv_(state.exp_avg, denominator, value: -lr / correction1);
            }
        }
        return loss!;
    }

    static bool Fusable(Tensor parameter, Tensor grad, State state) =>
        new[] { parameter, grad, state.exp_avg, state.exp_avg_sq }.All(t => t.device_type == DeviceType.CPU && t.dtype == ScalarType.Float32 && t.is_contiguous())
        && grad.numel() == parameter.numel() && state.exp_avg.numel() == parameter.numel() && state.exp_avg_sq.numel() == parameter.numel();

    /// <summary>
    /// One parameter's AdamW update in one pass: p ← p·keep; m ← m·β1 + (1−β1)·g; v ← v·β2 + (1−β2)·g²;
    /// p ← p + step·m / (√v / √c2 + ε), the order of the tensor operations it replaces (step = −lr / c1).
    /// </summary>
    static unsafe void Update(Tensor parameter, Tensor grad, Tensor mean, Tensor square, float keep, float beta1, float oneMinusBeta1, float beta2,
                              float oneMinusBeta2, float rootCorrection2, float eps, float stepSize)
    {
        float* p = (float*)CpuKernels.Address(parameter), g = (float*)CpuKernels.Address(grad);
        float* m = (float*)CpuKernels.Address(mean), v = (float*)CpuKernels.Address(square);
        long count = parameter.numel();
        int width = Vector<float>.Count;
        CpuKernels.ForEachBlock((count + width - 1) / width, 4096, (_, from, to) =>
        {
            long i = from * width, end = Math.Min(count, to * width);
            var (keepV, b1, c1, b2, c2) = (new Vector<float>(keep), new Vector<float>(beta1), new Vector<float>(oneMinusBeta1),
                                           new Vector<float>(beta2), new Vector<float>(oneMinusBeta2));
            var (rootV, epsV, stepV) = (new Vector<float>(rootCorrection2), new Vector<float>(eps), new Vector<float>(stepSize));
            for (; i + width <= end; i += width)
            {
                var gi = Vector.Load(g + i);
                var pi = Vector.Load(p + i) * keepV;
                var mi = Vector.Load(m + i) * b1 + c1 * gi;
                var vi = Vector.Load(v + i) * b2 + c2 * gi * gi;
                mi.Store(m + i);
                vi.Store(v + i);
                (pi + stepV * (mi / (Vector.SquareRoot(vi) / rootV + epsV))).Store(p + i);
            }
            for (; i < end; i++)
            {
                float gi = g[i], mi = m[i] * beta1 + oneMinusBeta1 * gi, vi = v[i] * beta2 + oneMinusBeta2 * gi * gi;
                (m[i], v[i]) = (mi, vi);
                p[i] = p[i] * keep + stepSize * (mi / (MathF.Sqrt(vi) / rootCorrection2 + eps));
            }
        });
    }
}
