using System.Reflection;
using System.Text.Json;

namespace Karma.Model;

/// <summary>
/// The pretrained model that ships inside Karma (docs/default-model.md is its card): a wavelength-aware KARMA that reads
/// any sensor whose band centres are known. Every command that takes a checkpoint uses it when none is given. Its files
/// are resources of this assembly, written on first use to a cache folder (<c>$XDG_CACHE_HOME/karma</c>, else
/// <c>~/.cache/karma</c>, else the temp folder) under a name that carries their hash, and loaded from there like any
/// checkpoint — so the weights' SHA-256 is checked on every load.
/// </summary>
public static class DefaultModel
{
    const string Prefix = "Karma.DefaultModel.";

    /// <summary>Whether this build carries a default model.</summary>
    public static bool Available => Assembly.GetExecutingAssembly() is var a
        && a.GetManifestResourceInfo(Prefix + ModelCheckpoint.MetadataFile) is not null && a.GetManifestResourceInfo(Prefix + ModelCheckpoint.WeightsFile) is not null;

    /// <summary>The default model's metadata as shipped (null when the build carries none).</summary>
    public static ModelCheckpoint.Metadata? Metadata
    {
        get
        {
            using var stream = Resource(ModelCheckpoint.MetadataFile);
            return stream is null ? null : JsonSerializer.Deserialize<ModelCheckpoint.Metadata>(stream, KarmaJson.Indented);
        }
    }

    /// <summary>
    /// <paramref name="checkpoint"/> when given; otherwise the folder of the default model, written out on first use.
    /// Throws when neither exists.
    /// </summary>
    public static string Resolve(string? checkpoint) => checkpoint ?? Folder();

    /// <summary>The cache folder holding the default model's files, written (atomically) when missing.</summary>
    public static string Folder()
    {
        var meta = Metadata ?? throw new RunFolderException("No checkpoint was given and this build of Karma carries no default model; pretrain one.") { Settings = ["Checkpoint"] };
        string root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? Path.Combine(xdg, "karma")
            : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home ? Path.Combine(home, ".cache", "karma")
            : Path.Combine(Path.GetTempPath(), "karma");
        string folder = Path.Combine(root, $"default-{(meta.WeightsSha256 ?? "unhashed")[..Math.Min(12, (meta.WeightsSha256 ?? "unhashed").Length)]}");
        if (File.Exists(Path.Combine(folder, ModelCheckpoint.WeightsFile)) && File.Exists(Path.Combine(folder, ModelCheckpoint.MetadataFile))) return folder;
        try
        {
            Directory.CreateDirectory(root);
            string temp = folder + $".tmp-{Environment.ProcessId}";
            Directory.CreateDirectory(temp);
            foreach (var name in new[] { ModelCheckpoint.MetadataFile, ModelCheckpoint.WeightsFile })
            {
                using var source = Resource(name)!;
                using var target = File.Create(Path.Combine(temp, name));
                source.CopyTo(target);
            }
            AtomicFiles.ReplaceDirectory(temp, folder);
        }
        catch (IOException e) { throw new RunFolderException(folder, $"the default model could not be written to its cache folder: {e.Message}", e); }
        catch (UnauthorizedAccessException e) { throw new RunFolderException(folder, $"the default model could not be written to its cache folder: {e.Message}", e); }
        return folder;
    }

    static Stream? Resource(string file) => Assembly.GetExecutingAssembly().GetManifestResourceStream(Prefix + file);
}
