using System.CommandLine;
using System.Text.Json;
using Karma.Evaluation;
using Spectre.Console;

namespace Karma.Cli.Commands;

/// <summary><c>karma metrics</c>: PSNR, RMSE, SSIM and SAM between two image files of equal shape.</summary>
static class MetricsCommand
{
    public static Command Create()
    {
        var reference = new Option<string>("--reference") { Description = "Reference scene.", Required = true };
        var estimate = new Option<string>("--estimate") { Description = "Estimated scene, same shape.", Required = true };
        var range = new Option<double>("--data-range") { Description = "Data range for PSNR and SSIM (1 for reflectance in [0, 1]).", DefaultValueFactory = _ => 1.0 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("metrics", "Compare two image files of equal shape: PSNR, RMSE, SSIM (scikit-image compatible), SAM.") { reference, estimate, range, json };
        KarmaCli.SetRun(command, parse =>
        {
            double dataRange = parse.GetValue(range);
            if (!double.IsFinite(dataRange) || dataRange <= 0) throw new KarmaException($"--data-range must be a positive number (got {dataRange}).");
            var m = ImageMetrics.Compute(parse.GetValue(reference)!, parse.GetValue(estimate)!, dataRange);
            if (!double.IsFinite(m.Psnr) && !double.IsPositiveInfinity(m.Psnr) || !double.IsFinite(m.SamDegrees))
                throw new KarmaException(parse.GetValue(estimate)!, "the metrics came out NaN: one of the files holds non-finite values (NaN or ±∞) where the other has data.");
            if (parse.GetValue(json)) { Console.Out.WriteLine(JsonSerializer.Serialize(m, KarmaCli.Json)); return 0; }
            AnsiConsole.Write(new Table().AddColumns("PSNR (dB)", "RMSE", "SSIM", "SAM (°)").AddRow($"{m.Psnr:F3}", $"{m.Rmse:F5}", $"{m.Ssim:F5}", $"{m.SamDegrees:F3}"));
            return 0;
        }, needsTorch: false);
        return command;
    }
}
