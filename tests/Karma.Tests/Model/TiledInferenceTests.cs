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

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    public void Centred_tiles_give_every_pixel_from_the_central_half_of_a_tile(int batch)
    {
        var cube = Cube();
        using var model = new KarmaModel(Small);
        int t = Small.TileSize, pixels = cube.Rows * cube.Cols;
        Assert.Equal(cube.Values, TiledInference.Run(model, cube, cube.Bands, x => x.alias(), batch, centred: true));
        // A head that answers each pixel's row and column inside its tile: after stitching, no pixel may come from a
        // tile's outer quarter, borders of the scene included (they are mirrored outwards first).
        var where = TiledInference.Run(model, cube, 2, x =>
        {
            var y = arange(t, dtype: ScalarType.Float32).view(1, 1, t, 1).expand(x.shape[0], 1, t, t);
            var c = arange(t, dtype: ScalarType.Float32).view(1, 1, 1, t).expand(x.shape[0], 1, t, t);
            return cat([y, c], 1);
        }, batch, centred: true);
        for (int p = 0; p < pixels; p++)
        {
            Assert.InRange(where[p], t / 4, t - t / 4 - 1);
            Assert.InRange(where[pixels + p], t / 4, t - t / 4 - 1);
        }
    }

    [Fact]
    public void Mirroring_reflects_about_the_edge_pixel_and_covering_origins_reach_the_border()
    {
        var cube = Cube();
        var m = cube.Mirror(3);
        Assert.Equal((cube.Rows + 6, cube.Cols + 6), (m.Rows, m.Cols));
        int Source(int b, int r, int c) => (int)m.Values[(b * m.Rows + r) * m.Cols + c];
        Assert.Equal(cube.Values[(2 * cube.Rows + 0) * cube.Cols + 0], Source(2, 3, 3));                        // the scene's corner
        Assert.Equal(cube.Values[(1 * cube.Rows + 2) * cube.Cols + 1], Source(1, 1, 2));                        // (−2, −1) → (2, 1)
        Assert.Equal(cube.Values[(0 * cube.Rows + cube.Rows - 4) * cube.Cols + cube.Cols - 3], Source(0, m.Rows - 1, m.Cols - 2)); // (R+2, C+1) → (R−4, C−3)
        Assert.Equal([0, 4, 8, 12, 16, 20, 24, 28, 29], TileSet.CoveringOrigins(37, 8, 4));
        Assert.Equal([0, 4, 8, 12, 16, 20, 24], TileSet.CoveringOrigins(32, 8, 4));
        Assert.Equal([0, 8, 16, 24, 29], TileSet.CoveringOrigins(37, 8));
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
