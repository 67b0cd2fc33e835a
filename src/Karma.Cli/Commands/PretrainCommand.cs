using System.CommandLine;
using System.Text.Json;
using Karma.Data;
using Karma.Evaluation;
using Karma.Model;
using Karma.Training;

namespace Karma.Cli.Commands;

/// <summary><c>karma pretrain</c>: masked-autoencoder pretraining on scenes (or a simulated one) into a run folder.</summary>
static class PretrainCommand
{
    public static Command Create()
    {
        var data = new Option<string[]>("--data") { Description = "Scene files (ENVI .hdr). Default: a simulated scene.", AllowMultipleArgumentsPerToken = true };
        var preset = new Option<string>("--preset") { Description = "tiny, small or paper.", DefaultValueFactory = _ => "tiny" };
        var modelName = new Option<string>("--model") { Description = "karma, mae, huber+sam or huber+lsmm.", DefaultValueFactory = _ => "karma" };
        var endmembers = new Option<int?>("--endmembers") { Description = "Endmembers M (default: the preset's)." };
        var steps = new Option<int>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { Description = "Tiles per step.", DefaultValueFactory = _ => 8 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (paper: 1e-4).", DefaultValueFactory = _ => 1e-3 };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "Run folder.", Required = true };
        var command = new Command("pretrain", "Pretrain a KARMA (or plain MAE) model on scenes; writes a checkpoint, a JSONL log and validation metrics.")
            { data, preset, modelName, endmembers, steps, batch, lr, seed, output };
        KarmaCli.SetRun(command, parse =>
        {
            var config = KarmaConfig.FromPreset(parse.GetValue(preset)!) with { Variant = KarmaConfig.ParseVariant(parse.GetValue(modelName)!) };
            if (parse.GetValue(endmembers) is int m) config = config with { Endmembers = m };
            var (train, validation, _) = LoadTiles(parse.GetValue(data) ?? [], config, Path.Combine(parse.GetValue(output)!, "simulated"));
            var options = new TrainingOptions { Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr), Seed = parse.GetValue(seed) };
            var metrics = Run(config, train, validation, options, parse.GetValue(output)!);
            Console.Out.WriteLine(JsonSerializer.Serialize(metrics, KarmaCli.Json));
            return 0;
        });
        return command;
    }

    /// <summary>Tiles the given scenes (or a simulated one written under <paramref name="simulatedDir"/>) and splits them by rows, 25% for validation.</summary>
    public static (TileSet Train, TileSet Validation, string Source) LoadTiles(string[] paths, KarmaConfig config, string simulatedDir)
    {
        if (paths.Length == 0)
            paths = [new SceneSimulator { Size = 128, Bands = 218, Endmembers = 5, Seed = 1 }.Generate().WriteTo(simulatedDir)];
        var train = new List<TileSet.Tile>();
        var validation = new List<TileSet.Tile>();
        TileSet? first = null;
        foreach (var path in paths)
        {
            using var scene = HyperspectralScene.Open(path);
            var tiles = TileSet.FromScene(scene, config.TileSize, Math.Max(1, config.TileSize / 2));
            if (first is not null && tiles.Bands != first.Bands)
                throw new KarmaException(path, $"has {tiles.Bands} usable bands but {paths[0]} has {first.Bands}; pretrain on scenes with the same bands.");
            first ??= tiles;
            var (t, v) = tiles.SplitByRows(scene.Lines, 0.25);
            train.AddRange(t.Tiles);
            validation.AddRange(v.Tiles);
        }
        TileSet Make(List<TileSet.Tile> list) => new() { Tiles = list, TileSize = config.TileSize, Bands = first!.Bands, Wavelengths = first.Wavelengths };
        return (Make(train), Make(validation), string.Join(", ", paths));
    }

    /// <summary>Builds, trains, evaluates and saves one model into <paramref name="runDir"/>.</summary>
    public static ReconstructionMetrics Run(KarmaConfig config, TileSet train, TileSet validation, TrainingOptions options, string runDir)
    {
        config = config with { Bands = train.Bands };
        Directory.CreateDirectory(runDir);
        TorchSharp.torch.manual_seed(options.Seed);
        using var model = new KarmaModel(config);
        var log = TrainingProgress.Run($"{config.Variant}".ToLowerInvariant(), options.Steps,
            onStep => new Pretrainer(model, options).Train(train, onStep));
        AtomicFiles.WriteText(Path.Combine(runDir, "train.jsonl"),
            string.Concat(log.Select(r => JsonSerializer.Serialize(r, KarmaCli.JsonLine) + "\n")));
        ModelCheckpoint.Save(model, Path.Combine(runDir, "checkpoint"), train.Wavelengths);
        if (validation.Tiles.Count == 0)
            Console.Error.WriteLine("karma: warning: no validation tiles (the scenes are too small for a separate block at this tile size); " +
                                    "metrics.json is computed on the training tiles and overstates quality. Add scenes or use a smaller preset.");
        var metrics = ReconstructionMetrics.Evaluate(model, validation.Tiles.Count > 0 ? validation : train);
        AtomicFiles.WriteText(Path.Combine(runDir, "metrics.json"), JsonSerializer.Serialize(metrics, KarmaCli.Json));
        return metrics;
    }
}
