using Karma.Anomaly;
using Karma.Data;
using Karma.Downstream;
using Karma.Evaluation;
using Karma.Model;
using Karma.Unmixing;

namespace Karma.Api;

/// <summary>
/// The one entry point for using a trained model from C#: load it (the shipped default model, or any run or checkpoint
/// folder; the native runtime is loaded on the way), read scenes the way the model reads them — band selection,
/// reflectance scale, band descriptions (<c>scene.mat@aviris-classic</c>), resampling for a fixed-band model — and get
/// reconstructions, per-pixel features, abundances, an unmixing or anomaly scores.
/// </summary>
/// <example>
/// <code>
/// using var model = PretrainedModel.Load();                        // the default model
/// var scene = model.Read("scene.hdr");                             // or "scene.mat@aviris-classic"
/// float[,] features = model.Embed(scene);                          // [pixels, 128]
/// var unmixing = model.Unmix(scene);                               // endmembers, abundances, error
/// </code>
/// </example>
public sealed class PretrainedModel : IDisposable
{
    /// <summary>The network.</summary>
    public KarmaModel Network { get; }
    /// <summary>What the checkpoint says about the model: configuration, band handling, training band sets, hash.</summary>
    public ModelCheckpoint.Metadata Metadata { get; }

    PretrainedModel(KarmaModel network, ModelCheckpoint.Metadata metadata) => (Network, Metadata) = (network, metadata);

    /// <summary>
    /// Loads the model in <paramref name="checkpoint"/> (a run folder or checkpoint folder), or the shipped default model
    /// when null, onto <paramref name="device"/> (cpu, cuda, cuda:N or auto). Loads libtorch first if needed.
    /// </summary>
    public static PretrainedModel Load(string? checkpoint = null, string device = "cpu")
    {
        Runtime.TorchRuntime.EnsureLoaded();
        Runtime.ComputeDevice.Use(device);
        var (network, metadata) = ModelCheckpoint.Load(DefaultModel.Resolve(checkpoint));
        return new PretrainedModel(network, metadata);
    }

    /// <summary>A scene (any format Karma reads, optionally with <c>@SPEC</c> describing its bands) as this model reads it.</summary>
    public ReflectanceCube Read(string scene)
    {
        using var opened = HyperspectralScene.Open(scene);
        return Read(opened);
    }

    /// <summary>An open scene as this model reads it.</summary>
    public ReflectanceCube Read(HyperspectralScene scene) => Metadata.Read(scene);

    /// <summary>Every pixel as the model reconstructs it with nothing masked, [band][row][col] (NaN where invalid).</summary>
    public float[] Reconstruct(ReflectanceCube cube) => SceneReconstruction.Reconstruct(Network, cube);

    /// <summary>Per-pixel encoder features, [pixel, D] (rows × cols pixels in row-major order).</summary>
    public float[,] Embed(ReflectanceCube cube, FeatureReadout readout = FeatureReadout.Bilinear) => PixelFeatures.Encode(Network, cube, readout);

    /// <summary>The physics branch's per-pixel abundances, [pixel, M].</summary>
    public float[,] Abundances(ReflectanceCube cube) => PixelFeatures.Abundances(Network, cube);

    /// <summary>The physics branch's unmixing: endmembers at the scene's bands (and on the fine grid for a wavelength-aware model), abundances, error.</summary>
    public UnmixingResult Unmix(ReflectanceCube cube) => SceneUnmixing.Karma(Network, cube);

    /// <summary>KARMA's anomaly score (global plus local RX of the physics residual), its parts, and global RX of the context residual, [pixel] each.</summary>
    public ModelAnomalyScores Anomalies(ReflectanceCube cube, AnomalyOptions? options = null) => ContextDetector.Score(Network, cube, options);

    /// <inheritdoc/>
    public void Dispose() => Network.Dispose();
}
