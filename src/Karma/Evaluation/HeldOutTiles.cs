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
        var tiling = (model.Tiling ?? new TilingOptions { TileSize = model.Config.TileSize }) with { Stride = model.Config.TileSize };
        var tiles = TileSet.FromScenes(paths, tiling);
        if (Matches(model, tiles)) return (tiles, false);
        if (model.Wavelengths is null || tiles.Wavelengths is null)
        {
            ModelCheckpoint.CheckBands(model, tiles.Bands, tiles.Wavelengths, paths[0]);
            return (tiles, false);
        }
        var resampled = TileSet.FromScenes(paths, tiling with { ResampleTo = model.Wavelengths });
        return (resampled, true);
    }

    static bool Matches(ModelCheckpoint.Metadata model, TileSet tiles) =>
        tiles.Bands == model.Config.Bands &&
        (model.Wavelengths is null || tiles.Wavelengths is null || model.Wavelengths.Zip(tiles.Wavelengths).All(p => Math.Abs(p.First - p.Second) <= 1.0));
}
