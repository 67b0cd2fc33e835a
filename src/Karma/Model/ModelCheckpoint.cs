using TorchSharp;
using System.Text.Json;
using static TorchSharp.torch;

namespace Karma.Model;

/// <summary>
/// A trained model on disk: one folder holding <c>model.json</c> (configuration, band wavelengths and
/// normalisation statistics, readable by people and other tools) and <c>weights.bin</c> (TorchSharp's
/// format). The folder is written under a temporary name and renamed into place, so a crash mid-save
/// leaves the previous checkpoint intact and never a half-written one under the real name.
/// </summary>
public static class ModelCheckpoint
{
    /// <summary>File name of the metadata inside a checkpoint folder.</summary>
    public const string MetadataFile = "model.json";
    /// <summary>File name of the weights inside a checkpoint folder.</summary>
    public const string WeightsFile = "weights.bin";
    /// <summary>File name of the weights of an exported (or PyTorch-written) checkpoint folder: <see cref="SafeTensors"/>, the state dictionary's names.</summary>
    public const string SafeTensorsFile = "model.safetensors";

    /// <summary>
    /// Everything besides weights that inference needs to use a model on new scenes. <paramref name="Wavelengths"/> are a
    /// fixed-band model's band centres (null for a wavelength-aware model, which reads any); <paramref name="TrainingBands"/>
    /// describes the band sets it was trained on, for people.
    /// </summary>
    public sealed record Metadata(KarmaConfig Config, double[]? Wavelengths, float[] BandMean, float[] BandStd, string FormatVersion = "1",
                                  Data.TilingOptions? Tiling = null, string[]? TrainingBands = null, string? WeightsSha256 = null, string? WeightsType = null)
    {
        /// <summary>How this model's training read scenes (band selection, reflectance scale, tile size).</summary>
        [System.Text.Json.Serialization.JsonIgnore]
        public Data.TilingOptions Reading => Tiling ?? new Data.TilingOptions { TileSize = Config.TileSize };

        /// <summary>
        /// How to read <paramref name="scene"/> for this model: as in training, resampled to a fixed-band model's bands
        /// where they differ (<see cref="Resampling"/>). A wavelength-aware model reads the scene's own bands and needs
        /// their description; a scene without one is refused with the ways to give it.
        /// </summary>
        public Data.TilingOptions ReadingFor(Data.HyperspectralScene scene)
        {
            if (Config.ByWavelength)
            {
                if (scene.Spectral is null) throw Data.BandDescription.Missing(scene.Path);
                return Reading;
            }
            var kept = Reading.Bands.Choose(scene);
            return Resampling(Reading, kept.Length, scene.Spectral?.Select(kept).Centres, scene.Path) ?? Reading;
        }

        /// <summary>
        /// How to read scenes whose kept bands are <paramref name="bands"/> at <paramref name="wavelengths"/> so that they
        /// fit this model: null when they already do (same count and, where both sides know them, centres within 1 nm);
        /// <paramref name="reading"/> resampled to the model's wavelengths when both sides know them; otherwise the
        /// mismatch is an error naming <paramref name="scenePath"/>.
        /// </summary>
        public Data.TilingOptions? Resampling(Data.TilingOptions reading, int bands, IReadOnlyList<double>? wavelengths, string scenePath)
        {
            if (bands == Config.Bands && (Wavelengths is null || wavelengths is null || Wavelengths.Zip(wavelengths).All(p => Math.Abs(p.First - p.Second) <= 1.0)))
                return null;
            if (Wavelengths is not null && wavelengths is not null) return reading with { ResampleTo = Wavelengths };
            CheckBands(this, bands, wavelengths, scenePath);
            return null;
        }

        /// <summary>A whole scene in reflectance as this model sees it (<see cref="ReadingFor"/>).</summary>
        public Data.ReflectanceCube Read(Data.HyperspectralScene scene) => Data.ReflectanceCube.Read(scene, ReadingFor(scene));
    }

    /// <summary>
    /// Saves <paramref name="model"/> to the folder <paramref name="directory"/>, replacing any checkpoint there.
    /// <paramref name="tiling"/> records how scenes were tiled; <paramref name="extra"/> may add files (such as
    /// optimiser state) to the folder before it is moved into place.
    /// </summary>
    public static void Save(KarmaModel model, string directory, double[]? wavelengths = null, Data.TilingOptions? tiling = null, Action<string>? extra = null,
                            string[]? trainingBands = null) =>
        WriteFolder(directory, temp =>
        {
            model.save(Path.Combine(temp, WeightsFile));
            var meta = new Metadata(model.Config, wavelengths, model.BandMean, model.BandStd, Tiling: tiling, TrainingBands: trainingBands,
                                    WeightsSha256: Sha256(Path.Combine(temp, WeightsFile)));
            File.WriteAllText(Path.Combine(temp, MetadataFile), JsonSerializer.Serialize(meta, KarmaJson.Indented));
            extra?.Invoke(temp);
        });

    /// <summary>
    /// Fills a temporary folder beside <paramref name="directory"/> and moves it into place (<see cref="AtomicFiles.ReplaceDirectory"/>).
    /// A write the file system refuses (disk full, permissions) removes the temporary folder and leaves the previous
    /// checkpoint as it was, with one line saying so.
    /// </summary>
    static void WriteFolder(string directory, Action<string> fill)
    {
        directory = Path.GetFullPath(directory);
        string temp = directory + $".tmp-{Environment.ProcessId}";
        try
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, true);
            Directory.CreateDirectory(temp);
            fill(temp);
            AtomicFiles.ReplaceDirectory(temp, directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException || e is KarmaException { InnerException: IOException })
        {
            try { if (Directory.Exists(temp)) Directory.Delete(temp, true); } catch (IOException) { }
            var cause = e is KarmaException { InnerException: { } inner } ? inner : e;
            throw new RunFolderException(directory, $"could not be written ({KarmaException.Quote(cause.Message)}); the previous checkpoint there, if any, is unchanged. Free space or choose another place.", e);
        }
    }

    /// <summary>
    /// Writes the checkpoint in <paramref name="source"/> to <paramref name="directory"/> with weights and statistics
    /// stored as float16 when <paramref name="half"/> (half the size: how the default model ships; loading converts back
    /// to float32), its metadata and a fresh SHA-256. Only the model is written: no optimiser state. With
    /// <paramref name="safeTensors"/> the weights go to <see cref="SafeTensorsFile"/> under the state dictionary's names,
    /// which PyTorch reads (bench/reference/karma_model.py holds a module that runs them); Karma loads either form.
    /// </summary>
    public static Metadata Export(string source, string directory, bool half, bool safeTensors = false)
    {
        var (model, meta) = Load(source);
        using (model)
        {
            Metadata exported = meta;
            WriteFolder(directory, temp =>
            {
                model.to(CPU);
                if (half) model.to(ScalarType.Float16);
                string weights = Path.Combine(temp, safeTensors ? SafeTensorsFile : WeightsFile);
                if (safeTensors)
                    SafeTensors.Write(weights, model.state_dict().Select(p => (p.Key, p.Value)),
                                      new Dictionary<string, string> { ["format"] = "pt", ["producer"] = "Karma", ["config"] = JsonSerializer.Serialize(meta.Config, KarmaJson.Line) });
                else model.save(weights);
                exported = meta with { WeightsSha256 = Sha256(weights), WeightsType = half ? "float16" : null };
                File.WriteAllText(Path.Combine(temp, MetadataFile), JsonSerializer.Serialize(exported, KarmaJson.Indented));
            });
            return exported;
        }
    }

    /// <summary>Reads the metadata of the checkpoint in <paramref name="directory"/>.</summary>
    public static Metadata ReadMetadata(string directory)
    {
        directory = Resolve(directory);
        string path = Path.Combine(directory, MetadataFile);
        if (!File.Exists(path))
            throw new RunFolderException(directory, $"is not a Karma checkpoint: {MetadataFile} is missing. Point at a folder that pretraining wrote.");
        try
        {
            return JsonSerializer.Deserialize<Metadata>(File.ReadAllText(path), KarmaJson.Indented)
                   ?? throw new RunFolderException(path, "is empty.");
        }
        catch (JsonException e) { throw new RunFolderException(path, $"is not valid checkpoint metadata: {e.Message}", e); }
    }

    /// <summary>
    /// Loads the model saved in <paramref name="directory"/> (a checkpoint folder, or a run folder holding one). The weights
    /// must match the SHA-256 recorded beside them (checkpoints written before the hash was recorded are taken as they are)
    /// and hold only finite values; a damaged file is refused with its name.
    /// </summary>
    public static (KarmaModel Model, Metadata Metadata) Load(string directory)
    {
        directory = Resolve(directory);
        var meta = ReadMetadata(directory);
        KarmaModel model;
        try { model = new KarmaModel(meta.Config); }
        catch (InvalidSettingException e)
        {
            throw new RunFolderException(Path.Combine(directory, MetadataFile), $"describes a model Karma cannot build ({e.Message}); the checkpoint is damaged or from another version.", e);
        }
        try
        {
            string weights = WeightsPath(directory);
            if (meta.WeightsSha256 is { } expected && File.Exists(weights) && !string.Equals(Sha256(weights), expected, StringComparison.OrdinalIgnoreCase))
                throw new RunFolderException(weights, $"is damaged: its SHA-256 is not the {expected[..12]}… recorded in {MetadataFile}. Restore the file or retrain.");
            if (meta.WeightsType == "float16")
            {
                model.to(ScalarType.Float16);
                LoadWeights(model, directory);
                model.to(ScalarType.Float32);
            }
            else LoadWeights(model, directory);
            foreach (var (name, parameter) in model.named_parameters())
                if (!parameter.isfinite().all().item<bool>())
                    throw new RunFolderException(weights, $"holds non-finite values in {name}; the checkpoint is damaged.");
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.to(Runtime.ComputeDevice.Current);
        model.eval();
        return (model, meta);
    }

    /// <summary>The weights file of a checkpoint folder: <see cref="WeightsFile"/>, or <see cref="SafeTensorsFile"/> when only that is there.</summary>
    static string WeightsPath(string directory)
    {
        string native = Path.Combine(directory, WeightsFile), exported = Path.Combine(directory, SafeTensorsFile);
        return !File.Exists(native) && File.Exists(exported) ? exported : native;
    }

    /// <summary>Loads the weights saved in <paramref name="directory"/> (either form) into an existing model of the same configuration.</summary>
    public static void LoadWeights(KarmaModel model, string directory)
    {
        string weights = WeightsPath(directory);
        if (!File.Exists(weights)) throw new RunFolderException(directory, $"is an incomplete checkpoint: neither {WeightsFile} nor {SafeTensorsFile} is there.");
        if (weights.EndsWith(SafeTensorsFile, StringComparison.Ordinal))
        {
            LoadSafeTensors(model, weights);
            return;
        }
        try { model.load(weights); }
        catch (Exception e) when (e is not KarmaException)
        {
            throw new RunFolderException(weights, $"could not be loaded into a {model.Config.Preset} {model.Config.Variant} model: {e.Message}", e);
        }
    }

    /// <summary>Copies every entry of the model's state dictionary from a safetensors file, which must hold each under the same name and shape.</summary>
    static void LoadSafeTensors(KarmaModel model, string path)
    {
        var (tensors, _) = SafeTensors.Read(path);
        try
        {
            var state = model.state_dict();
            var missing = state.Keys.Where(k => !tensors.ContainsKey(k)).ToList();
            var extra = tensors.Keys.Where(k => !state.ContainsKey(k)).ToList();
            if (missing.Count > 0 || extra.Count > 0)
                throw new RunFolderException(path, $"does not hold this {model.Config.Preset} {model.Config.Variant} model's weights" +
                    (missing.Count > 0 ? $"; missing {string.Join(", ", missing.Take(4))}{(missing.Count > 4 ? ", …" : "")}" : "") +
                    (extra.Count > 0 ? $"; unexpected {string.Join(", ", extra.Take(4))}{(extra.Count > 4 ? ", …" : "")}" : "") + ".");
            using var _ = no_grad();
            foreach (var (name, target) in state)
            {
                var source = tensors[name];
                if (!source.shape.SequenceEqual(target.shape))
                    throw new RunFolderException(path, $"holds {name} as [{string.Join(", ", source.shape)}] but the model needs [{string.Join(", ", target.shape)}].");
                target.copy_(source.to(target.dtype, target.device));
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>The SHA-256 of a file as lowercase hex.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    /// <summary>The checkpoint folder for <paramref name="path"/>: itself, or its <c>checkpoint</c> sub-folder when given a run folder.</summary>
    public static string Resolve(string path)
    {
        if (!File.Exists(Path.Combine(path, MetadataFile)) && File.Exists(Path.Combine(path, "checkpoint", MetadataFile)))
            return Path.Combine(path, "checkpoint");
        return path;
    }

    /// <summary>
    /// Checks that a scene's bands are the model's: same count and, when both are known, wavelengths within
    /// <paramref name="toleranceNm"/>. Throws with an explanation of the mismatch otherwise.
    /// </summary>
    public static void CheckBands(Metadata model, int sceneBands, IReadOnlyList<double>? sceneWavelengths, string scenePath, double toleranceNm = 1.0)
    {
        if (sceneBands != model.Config.Bands)
            throw new BandMismatchException(scenePath,
                $"has {sceneBands} bands after band removal but the model was trained on {model.Config.Bands}. " +
                "Use the same bad-band settings as in training, or resample the scene to the model's wavelengths.");
        if (sceneWavelengths is null || model.Wavelengths is null) return;
        for (int i = 0; i < sceneBands; i++)
            if (Math.Abs(sceneWavelengths[i] - model.Wavelengths[i]) > toleranceNm)
                throw new BandMismatchException(scenePath,
                    $"band {i} is at {sceneWavelengths[i]:F1} nm but the model's band {i} is at {model.Wavelengths[i]:F1} nm " +
                    $"(tolerance {toleranceNm} nm). Resample the scene to the model's wavelengths first.");
    }
}
