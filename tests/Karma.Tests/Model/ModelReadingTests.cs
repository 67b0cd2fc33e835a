using Karma.Data;
using Karma.Model;

namespace Karma.Tests.Model;

public class ModelReadingTests
{
    static ModelCheckpoint.Metadata Model(int bands, double[]? wavelengths) =>
        new(TestConfigs.Micro with { Bands = bands }, wavelengths, new float[bands], Enumerable.Repeat(1f, bands).ToArray());

    [Fact]
    public void A_scene_is_read_as_the_model_sees_it_and_resampled_when_its_bands_differ()
    {
        using var dir = new TempDir();
        using var scene = dir.Simulate(size: 16, bands: 12, seed: 2);
        var plain = ReflectanceCube.Read(scene, new TilingOptions { TileSize = 16 });
        var wavelengths = plain.Wavelengths!;

        var same = Model(12, wavelengths).Read(scene);
        Assert.Equal(plain.Values, same.Values);

        // Six bands between the scene's: resampled to the model's centres.
        double[] centres = Enumerable.Range(0, 6).Select(i => wavelengths[1 + 2 * i] - 1).ToArray();
        var resampled = Model(6, centres).Read(scene);
        Assert.Equal(6, resampled.Bands);
        Assert.Equal(centres, resampled.Wavelengths);

        // No wavelengths to resample with: the mismatch is an error that names the scene.
        var e = Assert.ThrowsAny<KarmaException>(() => Model(6, null).Read(scene));
        Assert.Contains(Path.GetFileName(scene.Path), e.Message);
        Assert.Contains("6", e.Message);
    }
}
