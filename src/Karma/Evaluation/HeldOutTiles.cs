using Karma.Data;
using Karma.Model;

namespace Karma.Evaluation;

/// <summary>
/// Tiles scenes for a trained model exactly as its training tiled them (band selection, reflectance scale,
/// tile size), without overlap so each pixel counts once. When the scenes' bands differ from the model's and
/// both have wavelengths, the scenes are resampled to the model's bands.
/// </summary>
public static class HeldOutTiles
{
    /// <summary>
    /// Non-overlapping tiles of <paramref name="paths"/> shaped for the model described by <paramref name="model"/>, one set
    /// per band set (<see cref="TileSet.Merge"/>), and whether any scene had to be resampled to a fixed model's bands.
    /// </summary>
    public static (IReadOnlyList<TileSet> Tiles, bool Resampled) For(ModelCheckpoint.Metadata model, IReadOnlyList<string> paths)
    {
        var sets = new List<TileSet>();
        bool resampled = false;
        foreach (var path in paths)
        {
            using var scene = HyperspectralScene.Open(path);
            var tiling = model.ReadingFor(scene) with { Stride = model.Config.TileSize };
            resampled |= tiling.ResampleTo is not null;
            sets.Add(TileSet.FromScene(scene, tiling));
        }
        return (TileSet.Merge(sets), resampled);
    }
}
