using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// TorchSharp's AdamW with a leaner step: the same operations in the same order (so the same weights to the last
/// bit), but each parameter's temporaries are freed as soon as it is updated. TorchSharp's own step keeps every
/// temporary until the whole step ends, so for the paper preset (120 M weights) it touches ~1 GB of fresh memory per
/// step, more than the forward pass (docs/performance.md has the measurement).
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
}
