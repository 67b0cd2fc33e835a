using System.CommandLine;
using Karma.Data;
using Karma.Downstream;
using Karma.Model;

namespace Karma.Cli.Commands;

/// <summary><c>karma embed</c>: per-pixel encoder features of a whole scene, streamed to a GeoTIFF or ENVI file.</summary>
static class EmbedCommand
{
    public static Command Create()
    {
        var checkpoint = KarmaCli.Checkpoint();
        var data = new Option<string[]>("--data") { Description = "Scene(s) or folders to embed.", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "Feature file (.tif for GeoTIFF, otherwise ENVI); for several scenes or a shard, a folder of NAME.tif files.", Required = true };
        var readout = KarmaCli.Readout();
        var bands = new BandOptions();
        var command = new Command("embed", "Write per-pixel features from the pretrained encoder for a whole scene (tile by tile, bounded memory).") { checkpoint, data, output, readout };
        bands.AddTo(command);
        var batch = new SceneBatch();
        batch.AddTo(command);
        KarmaCli.SetRun(command, parse =>
        {
            KarmaCli.CheckOutput(parse.GetValue(output)!, [.. parse.GetValue(data)!, parse.GetValue(checkpoint)]);
            var (model, meta) = ModelCheckpoint.Load(DefaultModel.Resolve(parse.GetValue(checkpoint)));
            using var _ = model;
            var scenes = bands.Apply(parse, SceneCatalog.Expand(parse.GetValue(data)!, new List<string>()));
            if (batch.Active(parse, scenes))
            {
                batch.Run(parse, scenes, parse.GetValue(output)!, ".tif", folder: false, (path, target) =>
                {
                    using var each = HyperspectralScene.Open(path);
                    PixelFeatures.Write(model, each, meta.ReadingFor(each), target, parse.GetValue(readout));
                });
                return 0;
            }
            using var scene = HyperspectralScene.Open(scenes[0]);
            PixelFeatures.Write(model, scene, meta.ReadingFor(scene), parse.GetValue(output)!, parse.GetValue(readout));
            Console.Out.WriteLine($"features: {Path.GetFullPath(parse.GetValue(output)!)} ({scene.Lines}×{scene.Samples}×{meta.Config.EncoderDim})");
            return 0;
        });
        return command;
    }
}
