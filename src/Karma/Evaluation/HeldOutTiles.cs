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
    /// <summary>Non-overlapping tiles of <paramref name="paths"/> shaped for the model described by <paramref name="model"/>.</summary>
    public static (TileSet Tiles, bool Resampled) For(ModelCheckpoint.Metadata model, IReadOnlyList<string> paths)
    {
        var tiling = model.Reading with { Stride = model.Config.TileSize };
        var tiles = TileSet.FromScenes(paths, tiling);
        return model.Resampling(tiling, tiles.Bands, tiles.Wavelengths, paths[0]) is { } resampled
            ? (TileSet.FromScenes(paths, resampled), true)
            : (tiles, false);
    }
}
