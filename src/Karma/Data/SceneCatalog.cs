namespace Karma.Data;

/// <summary>
/// Turns what a user names as data into scene paths: a file is itself, a folder stands for every scene in it (ENVI
/// headers, GeoTIFFs, MATLAB files and EnMAP L2A products, searched recursively, in path order). Files in a folder that
/// are not scenes a model can use — label maps, spectral libraries, MATLAB files without one cube, scenes smaller than a
/// tile — are skipped, each with a note saying why; a file named directly is never skipped.
/// </summary>
public static class SceneCatalog
{
    static readonly string[] Extensions = [".hdr", ".tif", ".tiff", ".mat"];

    /// <summary>
    /// The scenes of <paramref name="paths"/>; a band description suffix (<c>@SPEC</c>) on a folder applies to every scene
    /// in it. Scenes found in folders need at least <paramref name="minBands"/> bands and <paramref name="minSide"/> pixels
    /// a side; <paramref name="notes"/> receives what was skipped.
    /// </summary>
    public static string[] Expand(IEnumerable<string> paths, ICollection<string> notes, int minBands = 10, int minSide = 1)
    {
        var result = new List<string>();
        foreach (var path in paths)
        {
            var (target, spec) = BandDescription.Split(path);
            if (!Directory.Exists(target) || EnmapScene.IsProduct(target))
            {
                result.Add(path);
                continue;
            }
            var found = new List<string>();
            foreach (var file in Directory.EnumerateFileSystemEntries(target, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                bool product = Directory.Exists(file) && EnmapScene.IsProduct(file);
                if (!product && (!File.Exists(file) || !Extensions.Contains(Path.GetExtension(file).ToLowerInvariant()))) continue;
                if (!product && found.Any(p => file.StartsWith(p + Path.DirectorySeparatorChar, StringComparison.Ordinal))) continue; // inside a product
                string candidate = spec is null ? file : BandDescription.Attach(file, spec);
                if (!product && file.EndsWith(".mat", StringComparison.OrdinalIgnoreCase) && SingleCube(file, minBands) is { } variable)
                    candidate = spec is null ? $"{file}:{variable}" : BandDescription.Attach($"{file}:{variable}", spec);
                try
                {
                    using var scene = HyperspectralScene.Open(candidate);
                    if (scene.Bands < minBands) notes.Add($"{file}: skipped, {scene.Bands} band(s) (a label map or library, not a scene)");
                    else if (Math.Min(scene.Lines, scene.Samples) < minSide) notes.Add($"{file}: skipped, {scene.Lines}×{scene.Samples} pixels is smaller than one {minSide}² tile");
                    else found.Add(candidate);
                }
                catch (KarmaException e) { notes.Add($"{file}: skipped ({e.Message.Replace(file + ": ", "")})"); }
            }
            if (found.Count == 0) throw new SceneFileException(target, "is a folder holding no usable scene" + (notes.Count > 0 ? $" ({notes.Count} file(s) skipped)" : "") + ".");
            result.AddRange(found);
        }
        return result.ToArray();
    }

    /// <summary>The one variable of a MATLAB file that is a cube of at least <paramref name="minBands"/> bands (others such as abundance maps have fewer), or null.</summary>
    static string? SingleCube(string file, int minBands)
    {
        try
        {
            var cubes = MatFile.List(file).Where(v => v.IsNumeric && v.Dimensions.Length == 3 && v.Dimensions[2] >= minBands).ToList();
            return cubes.Count == 1 ? cubes[0].Name : null;
        }
        catch (KarmaException) { return null; }
    }
}
