using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Karma.Model;

/// <summary>
/// A pre-norm ViT block, batch-first: x + Attention(LN(x)), then x + MLP(LN(x)). Written here because
/// TorchSharp's <c>TransformerEncoderLayer</c> is sequence-first and post-norm; attention goes through
/// libtorch's fused <c>scaled_dot_product_attention</c>.
/// </summary>
public sealed class TransformerBlock : Module<Tensor, Tensor>
{
    readonly LayerNorm norm1, norm2;
    readonly Linear qkv, proj, fc1, fc2;
    readonly GELU gelu;
    readonly int heads;

    /// <summary>Creates a block of width <paramref name="dim"/> with <paramref name="heads"/> heads.</summary>
    public TransformerBlock(string name, int dim, int heads, double mlpRatio) : base(name)
    {
        this.heads = heads;
        int hidden = (int)Math.Round(dim * mlpRatio);
        norm1 = LayerNorm(dim);
        qkv = Linear(dim, 3 * dim);
        proj = Linear(dim, dim);
        norm2 = LayerNorm(dim);
        fc1 = Linear(dim, hidden);
        gelu = GELU();
        fc2 = Linear(hidden, dim);
        RegisterComponents();
    }

    /// <summary>x: [batch, tokens, dim] → same shape.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        var parts = qkv.call(norm1.call(x)).view(b, n, 3, heads, d / heads).permute(2, 0, 3, 1, 4);
        var attended = functional.scaled_dot_product_attention(parts[0], parts[1], parts[2])
            .transpose(1, 2).reshape(b, n, d);
        var y = x + proj.call(attended);
        y = y + fc2.call(gelu.call(fc1.call(norm2.call(y))));
        return y.MoveToOuterDisposeScope();
    }
}
