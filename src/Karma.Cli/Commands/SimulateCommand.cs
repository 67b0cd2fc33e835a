using System.CommandLine;
using Karma.Data;

namespace Karma.Cli.Commands;

/// <summary><c>karma simulate --out DIR</c>: writes a linear-mixing scene with its ground truth (the embedded default data).</summary>
static class SimulateCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder for scene.hdr/.img, abundances.hdr/.img and endmembers.csv.", Required = true };
        var size = new Option<int>("--size") { Description = "Scene side in pixels.", DefaultValueFactory = _ => 128 };
        var bands = new Option<int>("--bands") { Description = "Bands between 400 and 2500 nm.", DefaultValueFactory = _ => 218 };
        var endmembers = new Option<int>("--endmembers") { Description = "Number of endmembers.", DefaultValueFactory = _ => 5 };
        var snr = new Option<double>("--snr") { Description = "Signal-to-noise ratio in dB.", DefaultValueFactory = _ => 40 };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 1 };
        var command = new Command("simulate", "Write a simulated hyperspectral scene (linear spectral mixing) with its ground truth.")
            { output, size, bands, endmembers, snr, seed };
        KarmaCli.SetRun(command, parse =>
        {
            var scene = new SceneSimulator
            {
                Size = parse.GetValue(size), Bands = parse.GetValue(bands), Endmembers = parse.GetValue(endmembers),
                SnrDb = parse.GetValue(snr), Seed = parse.GetValue(seed),
            }.Generate();
            string header = scene.WriteTo(parse.GetValue(output)!);
            Console.Out.WriteLine($"wrote {header} ({scene.Size}×{scene.Size}×{scene.Bands}, {scene.Endmembers} endmembers)");
            return 0;
        }, needsTorch: false);
        return command;
    }
}
