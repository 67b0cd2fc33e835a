using Karma.Data;
using Karma.Downstream;
using Karma.Model;
using Karma.Runtime;
using static TorchSharp.torch;

namespace Karma.Tests.Model;

[Collection(SerialTorchCollection.Name)]
public class TiledInferenceTests
{
    public TiledInferenceTests() => TorchRuntime.EnsureLoaded();

    static readonly KarmaConfig Small = TestConfigs.Micro with { Bands = 6, EncoderDim = 8, EncoderHeads = 2, DecoderDim = 8, DecoderHeads = 2 };

    /// <summary>A 37×45 cube (not a multiple of the tile) whose values name their own band, row and column.</summary>
    static ReflectanceCube Cube()
    {
        const int bands = 6, rows = 37, cols = 45;
        var values = new float[bands * rows * cols];
        for (int i = 0; i < values.Length; i++) values[i] = i;
        return new ReflectanceCube(values, new bool[rows * cols], bands, rows, cols, null, new SceneMetadata());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(16)]
    public void Every_pixel_gets_its_own_output_back_whatever_the_batch(int batch)
    {
        var cube = Cube();
        using var model = new KarmaModel(Small);
        // The identity head returns each tile's input: stitched back, that must be the cube, overlaps and borders included.
        Assert.Equal(cube.Values, TiledInference.Run(model, cube, cube.Bands, x => x.alias(), batch));
        // A head with another channel count: the band sum per pixel.
        var sums = TiledInference.Run(model, cube, 1, x => x.sum([1L], keepdim: true), batch);
        int pixels = cube.Rows * cube.Cols;
        for (int p = 0; p < pixels; p += 7)
            Assert.Equal(Enumerable.Range(0, cube.Bands).Sum(b => (double)cube.Values[b * pixels + p]), sums[p], 1);
    }

    [Fact]
    public void A_head_of_the_wrong_shape_is_refused()
    {
        using var model = new KarmaModel(Small);
        var error = Assert.Throws<ArgumentException>(() => TiledInference.Run(model, Cube(), 2, x => x.alias()));
        Assert.Contains("not [", error.Message);
    }

    [Fact]
    public void Patch_features_are_the_token_of_each_pixel_and_bilinear_ones_lie_between_neighbouring_tokens()
    {
        manual_seed(2);
        using var model = new KarmaModel(Small);
        var random = new Random(4);
        var values = Enumerable.Range(0, 6 * 16 * 16).Select(_ => (float)random.NextDouble()).ToArray();
        var cube = new ReflectanceCube(values, new bool[256], 6, 16, 16, null, new SceneMetadata());
        float[] tokens;
        using (no_grad())
        {
            model.eval();
            using var encoded = model.EncodeAll(tensor(values, 1, 6, 16, 16), null);
            tokens = encoded.data<float>().ToArray();                   // [16 tokens, 8]
        }
        var patch = PixelFeatures.Encode(model, cube, FeatureReadout.Patch);
        var bilinear = PixelFeatures.Encode(model, cube, FeatureReadout.Bilinear);
        bool variesInsidePatches = false;
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
            {
                int p = y * 16 + x;
                // The patch centres around (y, x) along each axis: bilinear weights never reach further.
                int[] ys = [Math.Clamp((int)Math.Floor((y + 0.5) / 4 - 0.5), 0, 3), Math.Clamp((int)Math.Ceiling((y + 0.5) / 4 - 0.5), 0, 3)];
                int[] xs = [Math.Clamp((int)Math.Floor((x + 0.5) / 4 - 0.5), 0, 3), Math.Clamp((int)Math.Ceiling((x + 0.5) / 4 - 0.5), 0, 3)];
                for (int k = 0; k < 8; k++)
                {
                    Assert.Equal(tokens[(y / 4 * 4 + x / 4) * 8 + k], patch[p, k], 5);
                    var near = ys.SelectMany(ty => xs.Select(tx => tokens[(ty * 4 + tx) * 8 + k])).ToArray();
                    Assert.InRange(bilinear[p, k], near.Min() - 1e-5f, near.Max() + 1e-5f);
                    variesInsidePatches |= Math.Abs(bilinear[p, k] - bilinear[y / 4 * 4 * 16 + x / 4 * 4, k]) > 1e-4;
                }
            }
        Assert.True(variesInsidePatches);
        for (int k = 0; k < 8; k++) Assert.Equal(tokens[k], bilinear[0, k], 5);   // a corner pixel is its patch's token
    }
}
