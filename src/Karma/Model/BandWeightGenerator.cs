using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Karma.Model;

/// <summary>
/// A hypernetwork that turns each band's description (<see cref="BandEncoding"/>) into the weights a layer applies to
/// that band: code [bands, E] → Linear → GELU → Linear → GELU → Linear → [bands, outputs]. Because the weights are a
/// function of what a band is rather than of its position in the file, one model reads any band set, and reordering
/// the bands together with their descriptions reorders the weights with them (the idea of DOFA's dynamic
/// patch embedding; this is Karma's own, lighter form: one vector per band, no transformer over bands).
/// </summary>
public sealed class BandWeightGenerator : Module<Tensor, Tensor>
{
    readonly Sequential network;

    /// <summary>Creates a generator of <paramref name="outputs"/> values per band through <paramref name="hidden"/> hidden units.</summary>
    public BandWeightGenerator(string name, int outputs, int hidden = 128) : base(name)
    {
        network = Sequential(
            ("fc1", Linear(BandEncoding.Width, hidden)), ("gelu1", GELU()),
            ("fc2", Linear(hidden, hidden)), ("gelu2", GELU()),
            ("fc3", Linear(hidden, outputs)));
        RegisterComponents();
    }

    /// <summary>Band codes [bands, E] → per-band weights [bands, outputs].</summary>
    public override Tensor forward(Tensor codes) => network.call(codes);
}
